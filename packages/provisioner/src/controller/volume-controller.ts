// The volume controller: every PV event enqueues the PV name; workers keep our finalizer in
// step with the reclaim policy and, once a PV of ours is Released with policy Delete, call
// DeleteVolume, delete the PV object and remove the finalizer. Failures are retried with
// per-PV backoff forever and reported as VolumeFailedDelete events on the PV.
// A provisioning journal entry still stored for the PV (its lazy removal lost to a restart) is
// removed, durably, between DeleteVolume and the PV's finalizer: once the PV is gone, a replay
// of that entry would create a volume just to delete it again.

import {
  PERSISTENT_VOLUMES,
  RateLimitingQueue,
  isConflict,
  isNotFound,
  objectReference,
  retryOnConflict,
  runWorkers,
  sidecarRateLimiter,
} from '@csi-sidecars-ts/shared';
import type { Clock, Disposable, EventRecorder, Informer, Logger, PersistentVolume, WorkQueueMetricsProvider, WorkResult } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { PV_FINALIZER, REASON_VOLUME_FAILED_DELETE } from './constants.js';
import type { ProvisionerMetrics } from './metrics.js';
import type { CsiProvisioner } from './provisioner.js';
import type { ProvisioningJournal } from './provisioning-journal.js';
import { IgnoredError } from './provisioning-state.js';
import type { RecentlyDeletedVolumes } from './recently-deleted.js';
import { desiredFinalizers, isOurVolume, shouldDeleteVolume } from './volume-decision.js';

export const VOLUMES_QUEUE = 'volumes';
export const VOLUME_RESYNC_PERIOD_MS = 15 * 60_000;
/** PVs remembered at most per memory below (a delete event missed must not grow them). */
const PV_MEMORY = 10_000;

export interface VolumeControllerOptions {
  knownProvisioners: ReadonlySet<string>;
  workerThreads: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  resyncPeriodMs?: number;
}

export interface VolumeControllerDeps {
  provisioner: CsiProvisioner;
  api: ProvisionerApi;
  volumes: Informer<PersistentVolume>;
  recentlyDeleted: RecentlyDeletedVolumes;
  recorder: EventRecorder;
  metrics: ProvisionerMetrics;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
  /** The provisioning journal, whose entry for a deleted volume must go before its PV does. */
  journal?: Pick<ProvisioningJournal, 'settleVolumeDeleted'>;
  /** Called after a volume was deleted (capacity refresh). */
  onDeleted?(pv: PersistentVolume): void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class VolumeController implements Disposable {
  readonly queue: RateLimitingQueue<string>;
  readonly #deps: VolumeControllerDeps;
  readonly #opts: VolumeControllerOptions;
  readonly #log: Logger;
  #handler: Disposable | undefined;
  /**
   * UIDs of PVs whose finalizer we removed, and of PVs we sent the DELETE for (until their
   * delete event): the syncs our own writes trigger need no further request.
   */
  readonly #finalizerRemoved = new Set<string>();
  readonly #deleteIssued = new Set<string>();

  constructor(deps: VolumeControllerDeps, opts: VolumeControllerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#log = deps.logger.withName('volume-controller');
    this.queue = new RateLimitingQueue<string>({
      name: VOLUMES_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(opts.retryIntervalStartMs, opts.retryIntervalMaxMs),
    });
  }

  run(signal: AbortSignal): Promise<void> {
    const enqueue = (pv: PersistentVolume) => {
      const name = pv.metadata?.name;
      if (name) this.queue.add(name);
    };
    this.#handler = this.#deps.volumes.addEventHandler(
      {
        onAdd: enqueue,
        onUpdate: (_old, pv) => enqueue(pv),
        onDelete: (pv) => {
          const gone = 'tombstone' in pv ? pv.lastKnown : pv;
          const name = gone.metadata?.name;
          if (name) this.queue.forget(name);
          if (gone.metadata?.uid) {
            this.#finalizerRemoved.delete(gone.metadata.uid);
            this.#deleteIssued.delete(gone.metadata.uid);
          }
        },
      },
      { resyncPeriodMs: this.#opts.resyncPeriodMs ?? VOLUME_RESYNC_PERIOD_MS, name: 'volume-controller' },
    );
    // A deletion already started finishes at shutdown (bounded by --timeout and the API timeout):
    // no signal (one that never aborts would only take a listener from every request and call).
    return runWorkers(this.queue, this.#opts.workerThreads, (name) => this.syncVolume(name), signal, { logger: this.#log });
  }

  dispose(): void {
    this.#handler?.dispose();
    this.queue.shutDown();
  }

  async syncVolume(name: string, signal?: AbortSignal): Promise<WorkResult> {
    let pv = this.#deps.volumes.store.get(name);
    if (!pv || !isOurVolume(pv, this.#opts.knownProvisioners)) return undefined;
    const log = this.#log.withValues({ pv: name });

    const finalizers = desiredFinalizers(pv);
    if (finalizers) {
      try {
        pv = await this.#deps.api.setPersistentVolumeFinalizers(pv, finalizers, signal);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        // A conflict means the cache is behind: the update event brings us back with fresh data.
        log.info(`Failed to modify finalizers to [${finalizers.join(' ')}]`, { err: errorText(err), conflict: isConflict(err) });
        return { requeue: 'rateLimited' };
      }
    }
    if (!shouldDeleteVolume(pv)) return undefined;

    const className = pv.spec?.storageClassName ?? '';
    const started = this.#deps.clock.now();
    // The backend volume of this very PV object is gone already (a sync raced the finalizer
    // removal): only the API cleanup is left, and it was counted then.
    const alreadyDeleted = this.#deps.recentlyDeleted.hasVolumeOf(name, pv.metadata?.uid);
    if (!alreadyDeleted) {
      try {
        await this.#deps.provisioner.deleteVolume(pv, signal);
      } catch (err) {
        if (err instanceof IgnoredError) {
          log.v(4).info('Volume deletion ignored', { reason: err.message });
          return undefined;
        }
        log.error('Volume deletion failed', err);
        this.#deps.recorder.event(objectReference(pv, PERSISTENT_VOLUMES), 'Warning', REASON_VOLUME_FAILED_DELETE, errorText(err));
        this.#deps.metrics.deleteFailed(className);
        return { requeue: 'rateLimited' };
      }
      this.#deps.recentlyDeleted.add(name, pv.metadata?.uid);
      log.v(4).info('Volume deleted');
    }

    if (this.#deps.journal) {
      // Usually no entry is left and this writes nothing. A retry after a failure here skips
      // DeleteVolume (recently deleted) and comes straight back.
      try {
        if (await this.#deps.journal.settleVolumeDeleted(pv, signal)) log.v(4).info('Provisioning journal entry of the deleted volume removed');
      } catch (err) {
        log.info('Failed to remove the provisioning journal entry of the deleted volume; will retry', { err: errorText(err) });
        if (!alreadyDeleted) this.#deps.metrics.deleteFailed(className);
        return { requeue: 'rateLimited' };
      }
    }

    try {
      // Our finalizer first, then the DELETE (Go: the other way round). Until the PV is deleted
      // nothing else moves our finalizer in its list (kube-controller-manager drops pv-protection
      // only once the PV is being deleted), so the cached PV says where it is and the patch
      // needs no read first. Dying in between leaves a Released PV without our finalizer, which
      // the next process deletes the same way (DeleteVolume again: idempotent).
      const uid = pv.metadata?.uid;
      await this.#removeFinalizer(name, uid, pv, signal);
      if (!pv.metadata?.deletionTimestamp && !(uid && this.#deleteIssued.has(uid))) {
        await this.#deps.api.deletePersistentVolume(name, uid, signal);
        remember(this.#deleteIssued, uid);
      }
    } catch (err) {
      if (!isNotFound(err)) {
        log.info('Failed to delete persistentvolume', { err: errorText(err) });
        if (!alreadyDeleted) this.#deps.metrics.deleteFailed(className);
        return { requeue: 'rateLimited' };
      }
    }
    if (alreadyDeleted) return undefined;
    this.#deps.metrics.deleteSucceeded(className, (this.#deps.clock.now() - started) / 1000);
    this.#deps.onDeleted?.(pv);
    log.v(4).info('PersistentVolume deleted succeeded');
    return undefined;
  }

  /**
   * Removes our finalizer from the PV. First without a read, from `known` (the cached PV): a
   * patch that only applies while the finalizer is where `known` has it. If it moved (a PV
   * someone else deleted, whose other finalizers went meanwhile), from a fresh read.
   */
  async #removeFinalizer(name: string, uid: string | undefined, known: PersistentVolume, signal: AbortSignal | undefined): Promise<void> {
    if (uid && this.#finalizerRemoved.has(uid)) return;
    if (!(known.metadata?.finalizers ?? []).includes(PV_FINALIZER)) return;
    if (!uid || known.metadata?.uid === uid) {
      try {
        await this.#deps.api.removePersistentVolumeFinalizer(known, PV_FINALIZER, signal);
        remember(this.#finalizerRemoved, uid);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        this.#log.v(4).info('Finalizer moved since the version we know; reading the PV', { pv: name, err: errorText(err) });
      }
    }
    await retryOnConflict(
      async () => {
        let current: PersistentVolume;
        try {
          current = await this.#deps.api.getPersistentVolume(name, signal);
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
        if (uid && current.metadata?.uid !== uid) return;
        const finalizers = current.metadata?.finalizers ?? [];
        if (!finalizers.includes(PV_FINALIZER)) return;
        try {
          await this.#deps.api.setPersistentVolumeFinalizers(current, finalizers.filter((f) => f !== PV_FINALIZER), signal);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
      { clock: this.#deps.clock, signal },
    );
    remember(this.#finalizerRemoved, uid);
  }
}

/** Adds a PV UID to a bounded memory (a missed delete event must not grow it forever). */
function remember(set: Set<string>, uid: string | undefined): void {
  if (!uid) return;
  if (set.size >= PV_MEMORY) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
  set.add(uid);
}
