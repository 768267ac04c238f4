// The soak's workload: every claim goes created → Bound → attached (a pod on a node, no kubelet:
// kube-controller-manager makes the VolumeAttachment) → expanded → detached (pod deleted) →
// deleted (claim, then its PV and backend volume). One observer lists the namespace's claims,
// pods, the driver's PVs and VolumeAttachments each tick and moves each claim on when the cluster
// shows its current step done. Every action is idempotent (AlreadyExists/NotFound count as done),
// so a request lost to an API server restart is simply issued again on a later tick.
import { isAlreadyExists, isNotFound, parseQuantity, type KubeClient, type PersistentVolume, type PersistentVolumeClaim, type VolumeAttachment } from '@csi-sidecars-ts/shared';

export const STAGES = ['pending', 'provisioning', 'attaching', 'expanding', 'detaching', 'deleting', 'done'] as const;
export type Stage = (typeof STAGES)[number];

export interface ClaimTrack {
  name: string;
  node: string;
  stage: Stage;
  pv?: string;
  startedAt?: number;
  finishedAt?: number;
  /** When the claim entered its current stage. */
  stageSince: number;
}

export interface WorkloadOptions {
  namespace: string;
  storageClass: string;
  driver: string;
  claims: number;
  /** Claims between created and done at once. */
  concurrency: number;
  nodes: readonly string[];
  size?: string;
  expandTo?: string;
  /** Concurrent API requests per tick. */
  requestConcurrency?: number;
}

interface Observed {
  claims: Map<string, PersistentVolumeClaim>;
  pvs: Map<string, PersistentVolume>;
  /** PV name → VolumeAttachment. */
  vas: Map<string, VolumeAttachment>;
  pods: Set<string>;
}

const podOf = (claim: string) => `${claim}-pod`;

export class SoakWorkload {
  readonly tracks: ClaimTrack[];
  readonly #client: KubeClient;
  readonly #opts: Required<WorkloadOptions>;
  readonly #expandBytes: bigint;
  /** Requests that failed (API server away, conflicts); they are retried on a later tick. */
  failedRequests = 0;
  lastError: string | undefined;

  constructor(client: KubeClient, opts: WorkloadOptions) {
    this.#client = client;
    this.#opts = { size: '1Gi', expandTo: '2Gi', requestConcurrency: 40, ...opts };
    this.#expandBytes = parseQuantity(this.#opts.expandTo).value();
    const width = String(opts.claims - 1).length;
    this.tracks = Array.from({ length: opts.claims }, (_, i) => ({
      name: `soak-${String(i).padStart(width, '0')}`,
      node: opts.nodes[i % opts.nodes.length]!,
      stage: 'pending' as Stage,
      stageSince: 0,
    }));
  }

  get done(): boolean {
    return this.tracks.every((t) => t.stage === 'done');
  }

  /** Share of all steps done, 0..1: what fault schedules key on. */
  get progress(): number {
    const last = STAGES.length - 1;
    return this.tracks.reduce((sum, t) => sum + STAGES.indexOf(t.stage), 0) / (this.tracks.length * last);
  }

  counts(): Record<Stage, number> {
    const out = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    for (const t of this.tracks) out[t.stage]++;
    return out;
  }

  /** Observes the cluster once and issues what each claim needs next. */
  async tick(): Promise<void> {
    const seen = await this.#observe();
    const actions: (() => Promise<void>)[] = [];
    let inFlight = this.tracks.filter((t) => t.stage !== 'pending' && t.stage !== 'done').length;
    for (const t of this.tracks) {
      if (t.stage === 'pending') {
        if (inFlight >= this.#opts.concurrency) continue;
        inFlight++;
      }
      const a = this.#next(t, seen);
      if (a) actions.push(a);
    }
    await pool(actions, this.#opts.requestConcurrency);
  }

  #next(t: ClaimTrack, seen: Observed): (() => Promise<void>) | undefined {
    const ns = this.#opts.namespace;
    const claim = seen.claims.get(t.name);
    switch (t.stage) {
      case 'pending':
        return this.#act(t, 'provisioning', async () => {
          t.startedAt ??= Date.now();
          await this.#ignore(isAlreadyExists, () =>
            this.#client.request({
              method: 'POST',
              path: `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
              body: {
                metadata: { name: t.name, namespace: ns },
                spec: { accessModes: ['ReadWriteOnce'], storageClassName: this.#opts.storageClass, resources: { requests: { storage: this.#opts.size } } },
              },
            }),
          );
        });
      case 'provisioning':
        if (claim?.status?.phase !== 'Bound' || !claim.spec?.volumeName) return undefined;
        t.pv = claim.spec.volumeName;
        return this.#act(t, 'attaching', () =>
          this.#ignore(isAlreadyExists, () =>
            this.#client.request({
              method: 'POST',
              path: `/api/v1/namespaces/${ns}/pods`,
              body: {
                metadata: { name: podOf(t.name) },
                spec: {
                  nodeName: t.node,
                  containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
                  volumes: [{ name: 'data', persistentVolumeClaim: { claimName: t.name } }],
                },
              },
            }),
          ),
        );
      case 'attaching':
        if (!seen.vas.get(t.pv ?? '')?.status?.attached) return undefined;
        return this.#act(t, 'expanding', async () => {
          await this.#client.request({
            method: 'PATCH',
            path: `/api/v1/namespaces/${ns}/persistentvolumeclaims/${t.name}`,
            body: { spec: { resources: { requests: { storage: this.#opts.expandTo } } } },
            contentType: 'application/merge-patch+json',
          });
        });
      case 'expanding': {
        const pv = seen.pvs.get(t.pv ?? '');
        if (bytes(pv?.spec?.capacity?.storage) < this.#expandBytes || bytes(claim?.status?.capacity?.storage) < this.#expandBytes) return undefined;
        return this.#act(t, 'detaching', () => this.#deletePod(t));
      }
      case 'detaching':
        if (seen.pods.has(podOf(t.name))) return () => this.#deletePod(t).catch((e: unknown) => this.#failed(e));
        if (seen.vas.has(t.pv ?? '')) return undefined;
        return this.#act(t, 'deleting', () =>
          this.#ignore(isNotFound, () => this.#client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/persistentvolumeclaims/${t.name}` })),
        );
      case 'deleting':
        if (claim || seen.pvs.has(t.pv ?? '')) return undefined;
        t.stage = 'done';
        t.finishedAt = Date.now();
        return undefined;
      case 'done':
        return undefined;
    }
  }

  #deletePod(t: ClaimTrack): Promise<void> {
    return this.#ignore(isNotFound, () =>
      this.#client.request({ method: 'DELETE', path: `/api/v1/namespaces/${this.#opts.namespace}/pods/${podOf(t.name)}`, body: { gracePeriodSeconds: 0 } }),
    );
  }

  /** Runs `fn`; on success the claim moves to `to`, on failure it stays and is retried. */
  #act(t: ClaimTrack, to: Stage, fn: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await fn();
        t.stage = to;
        t.stageSince = Date.now();
      } catch (err) {
        this.#failed(err);
      }
    };
  }

  #failed(err: unknown): void {
    this.failedRequests++;
    this.lastError = (err as Error).message;
  }

  async #ignore(benign: (err: unknown) => boolean, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!benign(err)) throw err;
    }
  }

  async #observe(): Promise<Observed> {
    const ns = this.#opts.namespace;
    const [claims, pvs, vas, pods] = await Promise.all([
      this.#client.request<{ items: PersistentVolumeClaim[] }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/persistentvolumeclaims` }),
      this.#client.request<{ items: PersistentVolume[] }>({ method: 'GET', path: '/api/v1/persistentvolumes' }),
      this.#client.request<{ items: VolumeAttachment[] }>({ method: 'GET', path: '/apis/storage.k8s.io/v1/volumeattachments' }),
      this.#client.request<{ items: { metadata?: { name?: string } }[] }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/pods` }),
    ]);
    return {
      claims: new Map(claims.items.map((c) => [c.metadata?.name ?? '', c])),
      pvs: new Map(pvs.items.filter((pv) => pv.spec?.csi?.driver === this.#opts.driver).map((pv) => [pv.metadata?.name ?? '', pv])),
      vas: new Map(vas.items.filter((va) => va.spec?.attacher === this.#opts.driver).map((va) => [va.spec?.source?.persistentVolumeName ?? '', va])),
      pods: new Set(pods.items.map((p) => p.metadata?.name ?? '')),
    };
  }
}

function bytes(q: string | undefined): bigint {
  if (!q) return 0n;
  try {
    return parseQuantity(q).value();
  } catch {
    return 0n;
  }
}

async function pool(tasks: readonly (() => Promise<void>)[], width: number): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < tasks.length) await tasks[i++]!();
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
}
