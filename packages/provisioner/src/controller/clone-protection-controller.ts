// Cloning protection: a claim used as a clone source carries our finalizer while clones are
// being provisioned. When such a source claim is deleted, the finalizer is removed once no
// Pending claim clones from it any more — including clones from other namespaces through
// dataSourceRef, which Go overlooks. Sources are found through an index instead of listing
// every claim of the namespace (external-provisioner #587).

import { RateLimitingQueue, isNotFound, makeKey, runWorkers, sidecarRateLimiter, splitKey } from '@csi-sidecars-ts/shared';
import type { Clock, Disposable, Informer, KubeObject, Logger, PersistentVolumeClaim, WorkQueueMetricsProvider, WorkResult } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { CLONE_FINALIZER, PVC_KIND } from './constants.js';

/** Go calls this queue "claims" too, which mixes its workqueue metrics into the claim queue's. */
export const CLONE_PROTECTION_QUEUE = 'cloning-protection';
export const CLONE_SOURCE_INDEX = 'clone-source';
const RESYNC_MS = 15 * 60_000;

/** Index: `namespace/name` of the claim this claim clones from, if any. */
export function cloneSourceIndex(obj: KubeObject): string[] {
  const c = obj as PersistentVolumeClaim;
  const ns = c.metadata?.namespace ?? '';
  const out: string[] = [];
  const ds = c.spec?.dataSource;
  if (ds?.kind === PVC_KIND && !ds.apiGroup) out.push(makeKey(ns, ds.name));
  const ref = c.spec?.dataSourceRef;
  if (ref?.kind === PVC_KIND && !ref.apiGroup) out.push(makeKey(ref.namespace || ns, ref.name));
  return [...new Set(out)];
}

export interface CloneProtectionDeps {
  claims: Informer<PersistentVolumeClaim>;
  api: ProvisionerApi;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
}

export interface CloneProtectionOptions {
  workers: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
}

export class CloneProtectionController implements Disposable {
  readonly queue: RateLimitingQueue<string>;
  readonly #deps: CloneProtectionDeps;
  readonly #opts: CloneProtectionOptions;
  readonly #log: Logger;
  #handler: Disposable | undefined;

  constructor(deps: CloneProtectionDeps, opts: CloneProtectionOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#log = deps.logger.withName('cloning-protection');
    this.queue = new RateLimitingQueue<string>({
      name: CLONE_PROTECTION_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(opts.retryIntervalStartMs, opts.retryIntervalMaxMs),
    });
    if (!deps.claims.store.hasIndexer(CLONE_SOURCE_INDEX)) deps.claims.store.addIndexer(CLONE_SOURCE_INDEX, cloneSourceIndex);
  }

  run(signal: AbortSignal): Promise<void> {
    const enqueue = (c: PersistentVolumeClaim) => {
      if (c.metadata?.deletionTimestamp && c.metadata.name) this.queue.add(makeKey(c.metadata.namespace, c.metadata.name));
    };
    this.#handler = this.#deps.claims.addEventHandler({ onAdd: enqueue, onUpdate: (_o, c) => enqueue(c) }, { resyncPeriodMs: RESYNC_MS, name: 'cloning-protection' });
    return runWorkers(this.queue, this.#opts.workers, (key, sig) => this.syncClaim(key, sig), signal, { logger: this.#log });
  }

  dispose(): void {
    this.#handler?.dispose();
    this.queue.shutDown();
  }

  async syncClaim(key: string, signal: AbortSignal): Promise<WorkResult> {
    const { namespace, name } = splitKey(key);
    const claim = this.#deps.claims.store.getByName(namespace, name);
    if (!claim || !(claim.metadata?.finalizers ?? []).includes(CLONE_FINALIZER)) return undefined;
    const pending = this.#deps.claims.store
      .byIndex(CLONE_SOURCE_INDEX, key)
      .find((c) => c.status?.phase === 'Pending' || c.status?.phase === undefined);
    if (pending) {
      this.#log.v(4).info('Cloning in progress, keeping the protection finalizer', { source: key, clone: `${pending.metadata?.namespace}/${pending.metadata?.name}` });
      return { requeue: 'rateLimited' };
    }
    const updated = structuredClone(claim);
    updated.metadata = { ...updated.metadata, finalizers: (claim.metadata?.finalizers ?? []).filter((f) => f !== CLONE_FINALIZER) };
    try {
      await this.#deps.api.updateClaim(updated, signal);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      this.#log.info('Failed to remove clone finalizer from PVC', { claim: key, err: err instanceof Error ? err.message : String(err) });
      return { requeue: 'rateLimited' };
    }
    this.#log.v(2).info('Removed clone protection finalizer', { claim: key });
    return undefined;
  }
}
