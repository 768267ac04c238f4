// What the csi-provisioner specs share: a namespace of their own with claims, storage classes,
// pods and events, clean-up that lets the provisioner delete what it made, a supervisor that
// restarts a sidecar when it exits (as kubelet restarts a container), and small loops.
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { clusterKube } from '../../src/harness/cluster-env.js';
import { mergePatch, statusCode, type Kube } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { waitFor } from '../../src/harness/wait.js';

export const PV_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ZONE_KEY = 'topology.kubernetes.io/zone';

/** CSI_E2E_BURST (default `fallback`): the size of burst specs; the figure is 200. */
export function burstSize(fallback: number): number {
  const n = Number.parseInt(process.env.CSI_E2E_BURST ?? String(fallback), 10);
  if (!Number.isInteger(n) || n < 4) throw new Error(`CSI_E2E_BURST must be an integer ≥ 4, got ${process.env.CSI_E2E_BURST}`);
  return n;
}

/** Runs `fn` over 0..n-1 with at most `limit` in flight. */
export async function forEach(n: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClaimOptions {
  size?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  selector?: { matchLabels: Record<string, string> };
  dataSource?: { apiGroup?: string; kind: string; name: string };
  accessModes?: string[];
}

export class ProvisionerKit {
  readonly kube: Kube = clusterKube();
  readonly #classes = new Set<string>();

  constructor(readonly ns: string) {}

  async createNamespace(): Promise<void> {
    try {
      await this.kube.core.createNamespace({ body: { metadata: { name: this.ns } } });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
  }

  /** (Re)creates a StorageClass; removed by cleanup(). */
  async storageClass(name: string, provisioner: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.deleteStorageClass(name);
    await this.kube.storage.createStorageClass({
      body: { metadata: { name }, provisioner, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate', ...extra },
    });
    this.#classes.add(name);
  }

  async deleteStorageClass(name: string): Promise<void> {
    try {
      await this.kube.storage.deleteStorageClass({ name });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    this.#classes.delete(name);
  }

  claim(name: string, sc: string, o: ClaimOptions = {}): Promise<V1PersistentVolumeClaim> {
    return this.kube.core.createNamespacedPersistentVolumeClaim({
      namespace: this.ns,
      body: {
        metadata: { name, ...(o.annotations ? { annotations: o.annotations } : {}), ...(o.labels ? { labels: o.labels } : {}) },
        spec: {
          accessModes: o.accessModes ?? ['ReadWriteOnce'],
          storageClassName: sc,
          resources: { requests: { storage: o.size ?? '1Gi' } },
          ...(o.selector ? { selector: o.selector } : {}),
          ...(o.dataSource ? { dataSource: o.dataSource } : {}),
        },
      },
    });
  }

  readClaim(name: string): Promise<V1PersistentVolumeClaim> {
    return this.kube.core.readNamespacedPersistentVolumeClaim({ name, namespace: this.ns });
  }

  async claims(): Promise<V1PersistentVolumeClaim[]> {
    return (await this.kube.core.listNamespacedPersistentVolumeClaim({ namespace: this.ns })).items;
  }

  async deleteClaim(name: string): Promise<void> {
    await this.kube.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: this.ns }).catch((err: unknown) => {
      if (statusCode(err) !== 404) throw err;
    });
  }

  async readPv(name: string): Promise<V1PersistentVolume | undefined> {
    try {
      return await this.kube.core.readPersistentVolume({ name });
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** PVs whose claimRef points into this namespace. */
  async pvs(): Promise<V1PersistentVolume[]> {
    return (await this.kube.core.listPersistentVolume()).items.filter((pv) => pv.spec?.claimRef?.namespace === this.ns);
  }

  async boundPv(claim: string, timeoutMs = 60_000): Promise<V1PersistentVolume> {
    const c = await waitFor(`${claim} Bound`, async () => {
      const x = await this.readClaim(claim);
      return x.status?.phase === 'Bound' ? x : undefined;
    }, { timeoutMs });
    const pv = await this.readPv(c.spec!.volumeName!);
    if (!pv) throw new Error(`PV ${c.spec!.volumeName} of ${claim} not found`);
    return pv;
  }

  async events(name: string, kind = 'PersistentVolumeClaim'): Promise<CoreV1Event[]> {
    const list = await this.kube.core.listNamespacedEvent({ namespace: this.ns, fieldSelector: `involvedObject.name=${name},involvedObject.kind=${kind}` });
    return list.items;
  }

  async warnings(name: string, kind = 'PersistentVolumeClaim'): Promise<CoreV1Event[]> {
    return (await this.events(name, kind)).filter((e) => e.type === 'Warning');
  }

  /** A pod that uses `claims` (it never runs: there is no kubelet), scheduled by kube-scheduler unless nodeName is given. */
  pod(name: string, claims: string[], nodeName?: string): Promise<V1Pod> {
    return this.kube.core.createNamespacedPod({
      namespace: this.ns,
      body: {
        metadata: { name },
        spec: {
          ...(nodeName ? { nodeName } : {}),
          containers: [{ name: 'c', image: 'none', volumeMounts: claims.map((_c, i) => ({ name: `v${i}`, mountPath: `/v${i}` })) }],
          volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })),
        },
      },
    });
  }

  readPod(name: string): Promise<V1Pod> {
    return this.kube.core.readNamespacedPod({ name, namespace: this.ns });
  }

  async deletePods(): Promise<void> {
    const pods = await this.kube.core.listNamespacedPod({ namespace: this.ns }).catch(() => ({ items: [] as V1Pod[] }));
    for (const p of pods.items) {
      await this.kube.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: this.ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  }

  /**
   * Deletes pods and claims and waits (up to timeoutMs) until the PVs of this namespace are gone,
   * so the provisioner still running deletes the volumes it made. Retained PVs are deleted here.
   */
  async deleteClaimsAndWait(timeoutMs = 60_000): Promise<void> {
    await this.deletePods();
    for (const c of await this.claims().catch(() => [])) await this.deleteClaim(c.metadata!.name!).catch(() => undefined);
    for (const pv of await this.pvs()) {
      if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') await this.kube.core.deletePersistentVolume({ name: pv.metadata!.name! }).catch(() => undefined);
    }
    await waitFor(`PVs of ${this.ns} deleted`, async () => (await this.pvs()).length === 0, { timeoutMs, intervalMs: 500 });
  }

  /** Last resort after the provisioner stopped: PVs left (finalizers removed), classes, the namespace. */
  async cleanup(): Promise<void> {
    await this.deletePods();
    for (const pv of await this.pvs().catch(() => [])) {
      const name = pv.metadata!.name!;
      await this.kube.core.deletePersistentVolume({ name }).catch(() => undefined);
      await this.kube.core.patchPersistentVolume({ name, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
    }
    for (const sc of [...this.#classes]) await this.deleteStorageClass(sc).catch(() => undefined);
    await this.kube.core.deleteNamespace({ name: this.ns }).catch(() => undefined);
  }
}

/** The Warning events of a claim after its first one arrived, once `settleMs` of retries passed. */
export async function settledWarnings(kit: ProvisionerKit, claim: string, settleMs: number): Promise<CoreV1Event[]> {
  await waitFor(`a Warning event on ${claim}`, async () => (await kit.warnings(claim)).length > 0);
  await sleep(settleMs);
  return kit.warnings(claim);
}

/**
 * Keeps a sidecar running as kubelet would: when the process exits for any reason other than
 * stop(), a new one is started (after `backoffMs`). `restarts` counts them.
 */
export class Supervisor {
  #current: ManagedProcess | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  restarts = 0;

  constructor(
    private readonly start: (generation: number) => Promise<ManagedProcess>,
    private readonly backoffMs = 500,
  ) {}

  get current(): ManagedProcess | undefined {
    return this.#current;
  }

  async run(): Promise<void> {
    this.#current = await this.start(0);
    this.#loop = this.#watch();
  }

  async #watch(): Promise<void> {
    while (!this.#stopped) {
      await this.#current!.exited;
      if (this.#stopped) return;
      await sleep(this.backoffMs);
      if (this.#stopped) return;
      this.restarts++;
      try {
        this.#current = await this.start(this.restarts);
      } catch {
        // Exited at start-up (say, the plugin is not back yet): the next round starts another.
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#current?.stop();
    await this.#loop;
  }
}
