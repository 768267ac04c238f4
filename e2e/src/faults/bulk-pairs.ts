// Many bound PVC/PV pairs of the driver, written straight to the API as they look after
// provisioning and binding (the approach of bench/src/scenarios/bound-pairs.ts, written again here
// because e2e cannot import the bench): kube-controller-manager is paused (SIGSTOP) while they are
// written so its binder neither races the half-written pairs nor rewrites them at its own client
// limit, and every object carries the finalizers the controllers would add, so nobody writes to
// them afterwards. Removal is as quick: the controller manager paused again, a delete-collection
// per kind, then the finalizers patched away. No plugin volume stands behind these PVs: a sidecar
// never calls the plugin for a bound volume.
import { readdirSync, readFileSync } from 'node:fs';
import { createKubeClient, isNotFound, type KubeClient } from '@csi-sidecars-ts/shared';
import type { ClusterInfo } from '../harness/control-plane.js';

export const BULK_LABEL = 'chaos.csi-sidecars-ts.io/bulk';
const PROVISIONER_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
const MERGE = 'application/merge-patch+json';
/** Requests in flight at once (the bench's figure). */
const CONCURRENCY = 32;

interface Obj {
  metadata?: { name?: string; uid?: string; finalizers?: string[] };
  status?: { phase?: string };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Retries a request that hit a transient error (timeouts, 409, 429, 5xx) a few times. */
async function retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 5) throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** The pid of this control plane's kube-controller-manager (its command line names the working folder). */
export function controllerManagerPid(info: ClusterInfo): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const argv = cmd.split('\0');
    if (argv[0]?.endsWith('/kube-controller-manager') && argv.some((a) => a.includes(info.workDir))) return Number(entry);
  }
  throw new Error(`no kube-controller-manager process of the control plane in ${info.workDir}`);
}

/** Runs `fn` with kube-controller-manager stopped (SIGSTOP), continuing it afterwards whatever happens. */
export async function withControllerManagerPaused<T>(info: ClusterInfo, fn: () => Promise<T>): Promise<T> {
  const pid = controllerManagerPid(info);
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

export interface BulkPairs {
  readonly count: number;
  /** Writes the pairs; `onProgress` every 1000. Returns the time it took, ms. */
  create(onProgress?: (done: number) => void): Promise<number>;
  /** Deletes every pair (and the namespace). Returns the time it took, ms. */
  remove(): Promise<number>;
  dispose(): void;
}

/**
 * `count` pairs in `namespace` (claims `bulk-<i>` of class `storageClass`, PVs `<set>-pv-<i>`
 * labelled BULK_LABEL=<set>), bound, with the provisioner annotations and finalizers a
 * provisioned volume has.
 */
export function bulkPairs(info: ClusterInfo, opts: { namespace: string; storageClass: string; set: string; count: number }): BulkPairs {
  const { namespace: ns, storageClass: sc, set, count } = opts;
  // No client-side rate limit: the apiserver is the limit.
  const client: KubeClient = createKubeClient({ kubeconfig: info.kubeconfig, qps: 0, burst: 0, requestTimeoutMs: 120_000 });
  const driver = info.driverName;
  const labels = { [BULK_LABEL]: set };
  const selector = `labelSelector=${encodeURIComponent(`${BULK_LABEL}=${set}`)}`;
  const claimsPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
  const req = <T = unknown>(method: string, path: string, body?: unknown, contentType?: string) =>
    client.request<T>({ method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const boundClaimStatus = { status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } };
  const boundVolumeStatus = { status: { phase: 'Bound' } };

  async function writePair(i: number): Promise<void> {
    const claim = `bulk-${i}`;
    const pv = `${set}-pv-${i}`;
    const created = await retry(`claim ${claim}`, () =>
      req<Obj>('POST', claimsPath, {
        metadata: {
          name: claim,
          labels,
          annotations: {
            'volume.kubernetes.io/storage-provisioner': driver,
            'volume.beta.kubernetes.io/storage-provisioner': driver,
            'pv.kubernetes.io/bind-completed': 'yes',
            'pv.kubernetes.io/bound-by-controller': 'yes',
          },
          finalizers: ['kubernetes.io/pvc-protection'],
        },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: sc, resources: { requests: { storage: '1Gi' } }, volumeName: pv },
      }).catch(async (err: unknown) => {
        // A retry after a lost answer: the claim is there already.
        const existing = await req<Obj>('GET', `${claimsPath}/${claim}`).catch(() => undefined);
        if (existing) return existing;
        throw err;
      }),
    );
    const uid = created.metadata?.uid;
    if (!uid) throw new Error(`claim ${ns}/${claim} has no uid`);
    await retry(`PV ${pv}`, () =>
      req('POST', '/api/v1/persistentvolumes', {
        metadata: { name: pv, labels, annotations: { 'pv.kubernetes.io/provisioned-by': driver }, finalizers: ['kubernetes.io/pv-protection', PROVISIONER_FINALIZER] },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: sc,
          volumeMode: 'Filesystem',
          csi: { driver, volumeHandle: `${set}-volume-${i}`, fsType: 'ext4' },
          claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name: claim, uid },
        },
      }).catch(async (err: unknown) => {
        if (await req('GET', `/api/v1/persistentvolumes/${pv}`).then(() => true, () => false)) return undefined;
        throw err;
      }),
    );
    await retry(`PV ${pv} status`, () => req('PATCH', `/api/v1/persistentvolumes/${pv}/status`, boundVolumeStatus, MERGE));
    await retry(`claim ${claim} status`, () => req('PATCH', `${claimsPath}/${claim}/status`, boundClaimStatus, MERGE));
  }

  /**
   * Once resumed, the controller manager gets claims and PVs on two watches; a claim it syncs
   * before its PV arrived looks bound to a missing volume and is marked Lost. Put such objects back
   * to Bound until two rounds in a row find none (it then leaves them alone).
   */
  async function keepBound(): Promise<void> {
    let cleanRounds = 0;
    for (let round = 0; round < 60; round++) {
      await new Promise((r) => setTimeout(r, round === 0 ? 1000 : 500));
      const claims = (await req<{ items: Obj[] }>('GET', `${claimsPath}?${selector}`)).items.filter((c) => c.status?.phase !== 'Bound');
      const pvs = (await req<{ items: Obj[] }>('GET', `/api/v1/persistentvolumes?${selector}`)).items.filter((v) => v.status?.phase !== 'Bound');
      if (claims.length === 0 && pvs.length === 0) {
        if (++cleanRounds >= 2) return;
        continue;
      }
      cleanRounds = 0;
      await mapLimit(pvs, CONCURRENCY, (v) => req('PATCH', `/api/v1/persistentvolumes/${v.metadata?.name}/status`, boundVolumeStatus, MERGE).catch(() => undefined));
      await mapLimit(claims, CONCURRENCY, (c) => req('PATCH', `${claimsPath}/${c.metadata?.name}/status`, boundClaimStatus, MERGE).catch(() => undefined));
    }
    throw new Error(`bulk pairs in ${ns}: kube-controller-manager keeps unbinding them`);
  }

  async function dropFinalizers(path: string, items: Obj[]): Promise<void> {
    await mapLimit(items, CONCURRENCY, async (o) => {
      if ((o.metadata?.finalizers ?? []).length === 0) return;
      await req('PATCH', `${path}/${o.metadata?.name}`, { metadata: { finalizers: null } }, MERGE).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    });
  }

  return {
    count,
    async create(onProgress) {
      const started = Date.now();
      let done = 0;
      await withControllerManagerPaused(info, () =>
        mapLimit(Array.from({ length: count }, (_, i) => i), CONCURRENCY, async (i) => {
          await writePair(i);
          if (++done % 1000 === 0) onProgress?.(done);
        }),
      );
      await keepBound();
      return Date.now() - started;
    },
    async remove() {
      const started = Date.now();
      // Paused, the controller manager cannot mark the claims' PVs Released (or the claims Lost)
      // one by one at its own client limit; when it resumes, everything is gone.
      await withControllerManagerPaused(info, async () => {
        for (let round = 0; round < 5; round++) {
          // Again each round: a delete-collection that timed out may have left some untouched.
          await req('DELETE', `/api/v1/persistentvolumes?${selector}`).catch(() => undefined);
          await req('DELETE', `${claimsPath}?${selector}`).catch(() => undefined);
          const pvs = (await req<{ items: Obj[] }>('GET', `/api/v1/persistentvolumes?${selector}`)).items;
          const claims = (await req<{ items: Obj[] }>('GET', `${claimsPath}?${selector}`).catch(() => ({ items: [] as Obj[] }))).items;
          if (pvs.length === 0 && claims.length === 0) break;
          await dropFinalizers('/api/v1/persistentvolumes', pvs);
          await dropFinalizers(claimsPath, claims);
          await new Promise((r) => setTimeout(r, 200));
        }
      });
      await req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
      return Date.now() - started;
    },
    dispose() {
      client.dispose();
    },
  };
}

/** Count of PVs with the set's label (what `remove` left). */
export async function bulkVolumesLeft(client: KubeClient, set: string): Promise<number> {
  const selector = encodeURIComponent(`${BULK_LABEL}=${set}`);
  return (await client.request<{ items: unknown[] }>({ method: 'GET', path: `/api/v1/persistentvolumes?labelSelector=${selector}` })).items.length;
}
