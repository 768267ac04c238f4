// What every chaos scenario does around its fault: a namespace and API client, claims and
// statically bound volumes, the sidecars and proxies it started (all stopped afterwards), and the
// final step — wait for a clean inventory, record the result, clean up what the implementation
// under test left behind so the next scenario starts from nothing.
import { CsiConnection, createKubeClient, isAlreadyExists, isNotFound, type KubeClient, type PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { ClusterInfo } from '../harness/control-plane.js';
import type { ManagedProcess } from '../harness/managed-process.js';
import { waitFor } from '../harness/wait.js';
import { ApiFaultProxy } from './api-proxy.js';
import { FaultProxyProcess } from './fault-proxy.js';
import type { Impl } from './implementations.js';
import { JOURNAL_ENTRY_PREFIX, describeDiff, inventoryDiff, isClean, removeLeaks, snapshot, type InventoryDiff, type Snapshot } from './inventory.js';
import { recordResult, type ScenarioResult } from './results.js';

export const GiB = 1024n ** 3n;

export class ChaosEnv {
  readonly info: ClusterInfo;
  readonly namespace: string;
  readonly client: KubeClient;
  /** Straight to the plugin (never through a proxy): the inventory's view of the backend. */
  readonly csi: CsiConnection;
  readonly #procs: ManagedProcess[] = [];
  readonly #proxies: FaultProxyProcess[] = [];
  readonly #apiProxies: ApiFaultProxy[] = [];

  private constructor(info: ClusterInfo, namespace: string, client: KubeClient, csi: CsiConnection) {
    this.info = info;
    this.namespace = namespace;
    this.client = client;
    this.csi = csi;
  }

  static async create(info: ClusterInfo, namespace: string): Promise<ChaosEnv> {
    const client = createKubeClient({ kubeconfig: info.kubeconfig, qps: 100, burst: 200 });
    const csi = new CsiConnection({ address: info.csiEndpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
    await csi.start();
    const env = new ChaosEnv(info, namespace, client, csi);
    await env.request('POST', '/api/v1/namespaces', { metadata: { name: namespace } }).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
    return env;
  }

  get driver(): string {
    return this.info.driverName;
  }

  request<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    return this.client.request<T>({ method, path, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  }

  /** Registers a process to be stopped by stopAll(). */
  own<T extends ManagedProcess>(p: T): T {
    this.#procs.push(p);
    return p;
  }

  async proxy(name: string): Promise<FaultProxyProcess> {
    const p = await FaultProxyProcess.start(this.info, name);
    this.#proxies.push(p);
    return p;
  }

  /** An API fault proxy in front of the apiserver, as `token` (default: the admin), closed by stopAll(). */
  async apiProxy(token = this.info.token): Promise<ApiFaultProxy> {
    const p = await ApiFaultProxy.start(this.info.apiServerUrl, token);
    this.#apiProxies.push(p);
    return p;
  }

  /** Stops every sidecar and proxy the scenario started. */
  async stopAll(): Promise<void> {
    for (const p of this.#procs.splice(0)) await p.stop(5000);
    for (const p of this.#proxies.splice(0)) await p.close();
    for (const p of this.#apiProxies.splice(0)) await p.close();
  }

  async dispose(): Promise<void> {
    await this.stopAll();
    this.csi.dispose();
    this.client.dispose();
  }

  // ---- objects -------------------------------------------------------------------------------

  async storageClass(name: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${name}`).catch(() => undefined);
    await this.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      metadata: { name },
      provisioner: this.driver,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      ...extra,
    });
  }

  claimPath(name = ''): string {
    return `/api/v1/namespaces/${this.namespace}/persistentvolumeclaims${name ? `/${name}` : ''}`;
  }

  async createClaim(name: string, storageClass: string, extra: { volumeName?: string; size?: string } = {}): Promise<PersistentVolumeClaim> {
    return this.request<PersistentVolumeClaim>('POST', this.claimPath(), {
      metadata: { name, namespace: this.namespace },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: storageClass,
        resources: { requests: { storage: extra.size ?? '1Gi' } },
        ...(extra.volumeName ? { volumeName: extra.volumeName } : {}),
      },
    });
  }

  async claim(name: string): Promise<PersistentVolumeClaim | undefined> {
    try {
      return await this.request<PersistentVolumeClaim>('GET', this.claimPath(name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async deleteClaim(name: string): Promise<void> {
    await this.request('DELETE', this.claimPath(name)).catch(() => undefined);
  }

  async claims(): Promise<PersistentVolumeClaim[]> {
    return (await this.request<{ items: PersistentVolumeClaim[] }>('GET', this.claimPath())).items;
  }

  async waitBound(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    await waitFor(`${names.length} claim(s) Bound`, async () => {
      const all = await this.claims();
      return names.every((n) => all.find((c) => c.metadata?.name === n)?.status?.phase === 'Bound');
    }, { timeoutMs, intervalMs: 100 });
  }

  /** A backend volume made straight on the plugin, a Retain PV for it and a claim bound to it. */
  async staticClaim(name: string, storageClass: string, size = '1Gi'): Promise<{ pv: string; handle: string }> {
    const { volume } = await this.csi.controller.createVolume({
      name: `chaos-${name}`,
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    const handle = volume!.volume_id;
    const pv = `chaos-${name}`;
    await this.request('POST', '/api/v1/persistentvolumes', {
      metadata: { name: pv },
      spec: {
        capacity: { storage: size },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: storageClass,
        claimRef: { namespace: this.namespace, name },
        csi: { driver: this.driver, volumeHandle: handle, fsType: 'ext4' },
      },
    });
    await this.createClaim(name, storageClass, { volumeName: pv, size });
    await this.waitBound([name]);
    return { pv, handle };
  }

  /** Deletes a static claim, its PV and its backend volume (Retain: nobody else will). */
  async removeStatic(name: string, pv: string, handle: string): Promise<void> {
    await this.deleteClaim(name);
    await waitFor(`claim ${name} gone`, async () => (await this.claim(name)) === undefined, { timeoutMs: 30_000 }).catch(() => undefined);
    await this.request('DELETE', `/api/v1/persistentvolumes/${pv}`).catch(() => undefined);
    await waitFor(`PV ${pv} gone`, async () => {
      try {
        await this.request('GET', `/api/v1/persistentvolumes/${pv}`);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 30_000 }).catch(() => undefined);
    await this.csi.controller.deleteVolume({ volume_id: handle }).catch(() => undefined);
  }

  async pod(name: string, node: string, claim: string): Promise<void> {
    await this.request('POST', `/api/v1/namespaces/${this.namespace}/pods`, {
      metadata: { name },
      spec: {
        nodeName: node,
        containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
      },
    });
  }

  async deletePod(name: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.namespace}/pods/${name}`, body: { gracePeriodSeconds: 0 } }).catch(() => undefined);
  }

  /** Deletes every pod of the namespace at once (no kubelet: that is what detaches their volumes). */
  async deleteAllPods(): Promise<void> {
    const pods = await this.request<{ items: { metadata?: { name?: string } }[] }>('GET', `/api/v1/namespaces/${this.namespace}/pods`);
    for (const p of pods.items) await this.deletePod(p.metadata?.name ?? '');
  }

  // ---- the check ----------------------------------------------------------------------------

  snapshot(): Promise<Snapshot> {
    return snapshot(this.csi, this.client, this.driver);
  }

  diff(before: Snapshot, journalNamespace?: string): Promise<InventoryDiff> {
    return inventoryDiff(this.csi, this.client, { driver: this.driver, namespace: this.namespace, before, ...(journalNamespace ? { journalNamespace } : {}) });
  }

  /**
   * Polls the inventory until it is clean or `timeoutMs` passes; returns the last diff and, when
   * clean, the time since `since`.
   */
  async settle(before: Snapshot, opts: { since: number; timeoutMs: number; journalNamespace?: string }): Promise<{ diff: InventoryDiff; convergedMs?: number }> {
    const deadline = Date.now() + opts.timeoutMs;
    const trace = process.env.CSI_CHAOS_DEBUG === '1';
    let diff = await this.diff(before, opts.journalNamespace);
    let last = '';
    while (!isClean(diff) && Date.now() < deadline) {
      const text = describeDiff(diff);
      if (trace && text !== last) process.stderr.write(`[chaos +${((Date.now() - opts.since) / 1000).toFixed(1)}s] ${text}\n`);
      last = text;
      await new Promise((r) => setTimeout(r, 250));
      diff = await this.diff(before, opts.journalNamespace);
    }
    return isClean(diff) ? { diff, convergedMs: Date.now() - opts.since } : { diff };
  }

  /** Records the outcome (the inventory, plus `problem` if the scenario's own check failed) and removes leaked volumes and stuck finalizers so the next scenario starts clean. */
  async finish(result: Omit<ScenarioResult, 'outcome' | 'clean'>, diff: InventoryDiff, problem?: string): Promise<ScenarioResult> {
    const inventory = describeDiff(diff);
    const clean = isClean(diff) && problem === undefined;
    const outcome = problem === undefined ? inventory : isClean(diff) ? problem : `${inventory}; ${problem}`;
    const r: ScenarioResult = { ...result, outcome, clean, leaked: diff.leaked.length, stuck: diff.finalizers.length + diff.dangling.length + diff.stillPublished.length + diff.journal.length };
    recordResult(r);
    await removeLeaks(this.csi, diff.leaked);
    // Journal entries a failed scenario left would count against the next one.
    for (const j of diff.journal) {
      const [lease, ...rest] = j.split('/');
      const body = { metadata: { annotations: { [`${JOURNAL_ENTRY_PREFIX}${rest.join('/')}`]: null } } };
      await this.request('PATCH', `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases/${lease}`, body, 'application/merge-patch+json').catch(() => undefined);
    }
    await this.forceCleanup();
    return r;
  }

  /** Records that an implementation could not run a scenario here. */
  skipped(row: string, scenario: string, impl: Impl, why: string): ScenarioResult {
    const r: ScenarioResult = { row, scenario, impl, outcome: `not run: ${why}`, clean: true };
    recordResult(r);
    return r;
  }

  /** Removes every claim and pod of the namespace, our finalizers included (after a Go run). */
  async forceCleanup(): Promise<void> {
    for (const c of await this.claims()) {
      if ((c.metadata?.finalizers ?? []).length > 0) {
        await this.request('PATCH', this.claimPath(c.metadata?.name), { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
      }
      await this.deleteClaim(c.metadata?.name ?? '');
    }
  }
}

/** Deletes every claim in `names` and waits until they are gone. */
export async function deleteClaims(env: ChaosEnv, names: readonly string[]): Promise<void> {
  for (const n of names) await env.deleteClaim(n);
}

/** The PV name the provisioner gives a claim (default prefix, whole UID). */
export function pvNameOf(claim: PersistentVolumeClaim): string {
  return `pvc-${claim.metadata?.uid}`;
}
