// The resize controller: watches PVCs, and for a bound claim whose request exceeds its capacity
// drives the expansion: mark the claim in progress, call the driver (or hand the job to kubelet),
// record the new PV size, and leave the claim finished or waiting for the node step. Failures
// are written to the claim (conditions, allocatedResourceStatuses, events) and retried with the
// work queue's backoff; infeasible ones about every --retry-interval-max.

import { deletedObject, RateLimitingQueue, runWorkers, sidecarRateLimiter } from '@csi-sidecars-ts/shared';
import type {
  Clock,
  EventRecorder,
  EventType,
  Logger,
  PersistentVolume,
  PersistentVolumeClaim,
  Quantity,
  WorkQueueMetricsProvider,
  WorkResult,
} from '@csi-sidecars-ts/shared';
import type { ResizerApi } from '../api/resizer-api.js';
import { ANN_PRE_RESIZE_CAPACITY, EventReason, ResizeStatus } from '../constants.js';
import { classifyFailure, errorMessage, isConflictError } from '../resizer/errors.js';
import type { VolumeResizer } from '../resizer/volume-resizer.js';
import type { PodClaimIndex } from './pod-claim-index.js';
import {
  allocatedSize,
  hasAnnotation,
  hasFileSystemResizePending,
  requestedSize,
  resizeStatusOf,
  statusCapacity,
  volumeCapacity,
} from './pvc-state.js';
import { chooseResizeTarget } from './resize-target.js';
import {
  markControllerResizeFailed,
  markControllerResizeInfeasible,
  markControllerResizeInProgress,
  markLegacyFsResizeRequired,
  markLegacyResizeFinished,
  markLegacyResizeInProgress,
  markNodeExpansionPending,
  markResizeFinished,
  volumeWithCapacity,
  volumeWithoutPreResizeAnnotation,
} from './resize-status.js';
import type { CachedResource } from './shared-types.js';
import { claimEvent, claimKey } from './shared-types.js';
import { SlowSet } from './slow-set.js';
import { resizeUpdateNeedsSync } from './triggers.js';
import { canExpand, claimWantsResize } from './volume-match.js';
import { WriteTracker } from './write-tracker.js';

export interface ResizeControllerOptions {
  workers: number;
  resyncPeriodMs: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  /** Feature gate RecoverVolumeExpansionFailure (default on). */
  recoverVolumeExpansionFailure: boolean;
  /** Feature gate AnnotateFsResize. */
  annotateFsResize: boolean;
}

export interface ResizeControllerDeps {
  resizer: VolumeResizer;
  api: ResizerApi;
  claims: CachedResource<PersistentVolumeClaim>;
  volumes: CachedResource<PersistentVolume>;
  /** Claims used by running pods; undefined with --handle-volume-inuse-error=false. */
  pods?: Pick<PodClaimIndex, 'isClaimInUse' | 'waitForSync'>;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
}

/** Outcome of one sync, for tests and logs. */
type SyncResult = WorkResult;

export class ResizeController {
  readonly queue: RateLimitingQueue<string>;
  readonly #d: ResizeControllerDeps;
  readonly #o: ResizeControllerOptions;
  readonly #log: Logger;
  readonly #driver: string;
  readonly #slowSet: SlowSet;
  /** Claims whose last controller call ended with a final error (in this process). */
  readonly #finalErrors = new Set<string>();
  /** UIDs of claims the driver refused to expand while in use (FailedPrecondition). */
  readonly #inUseErrors = new Set<string>();
  readonly #claimWrites = new WriteTracker<PersistentVolumeClaim>((o, n) => this.#onUpdate(o, n));
  readonly #volumeWrites = new WriteTracker<PersistentVolume>();
  readonly #handlers: { dispose(): unknown }[] = [];

  constructor(deps: ResizeControllerDeps, options: ResizeControllerOptions) {
    this.#d = deps;
    this.#o = options;
    this.#driver = deps.resizer.driverName;
    this.#log = deps.logger.withName('resize-controller');
    this.#slowSet = new SlowSet(options.retryIntervalMaxMs, deps.clock);
    this.queue = new RateLimitingQueue<string>({
      name: `${this.#driver}-pvc`,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(options.retryIntervalStartMs, options.retryIntervalMaxMs),
    });
    this.#handlers.push(
      deps.claims.addEventHandler(
        {
          onAdd: (pvc) => this.#enqueue(pvc),
          onUpdate: (oldPvc, newPvc) => this.#onUpdate(oldPvc, newPvc),
          onDelete: (obj) => this.#onDelete(deletedObject(obj)),
        },
        { resyncPeriodMs: options.resyncPeriodMs, name: 'resizer-pvc' },
      ),
    );
  }

  /** Waits for the caches, then processes claims until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.#log.info('Starting external resizer', { controller: this.#driver });
    try {
      await Promise.all([
        this.#d.claims.waitForSync(signal),
        this.#d.volumes.waitForSync(signal),
        ...(this.#d.pods ? [this.#d.pods.waitForSync(signal)] : []),
      ]);
    } catch (err) {
      if (signal.aborted) return;
      this.#log.error('Cannot sync pod, pv or pvc caches', err);
      throw err;
    }
    await runWorkers(this.queue, this.#o.workers, (key) => this.syncClaim(key), signal, { logger: this.#log });
    this.#log.info('Shutting down external resizer', { controller: this.#driver });
  }

  dispose(): void {
    for (const h of this.#handlers.splice(0)) h.dispose();
    this.queue.shutDown();
  }

  // ---- event handlers: enqueue only ----

  #enqueue(pvc: PersistentVolumeClaim): void {
    this.queue.add(claimKey(pvc));
  }

  #onUpdate(oldPvc: PersistentVolumeClaim, newPvc: PersistentVolumeClaim): void {
    const key = claimKey(newPvc);
    if (this.#claimWrites.absorb(key, oldPvc, newPvc)) return;
    if (resizeUpdateNeedsSync(oldPvc, newPvc, { recoveryEnabled: this.#o.recoverVolumeExpansionFailure })) this.queue.add(key);
  }

  #onDelete(pvc: PersistentVolumeClaim): void {
    const key = claimKey(pvc);
    this.queue.forget(key);
    this.#claimWrites.forget(key);
    this.#slowSet.remove(key);
    this.#finalErrors.delete(key);
    if (pvc.metadata?.uid) this.#inUseErrors.delete(pvc.metadata.uid);
  }

  // ---- the worker ----

  /** One pass over a claim. Throws to retry with backoff. */
  async syncClaim(key: string): Promise<SyncResult> {
    const log = this.#log.withValues({ PVC: key });
    log.v(4).info('Started PVC processing for resize controller');
    let pvc = this.#claimWrites.freshest(key, this.#d.claims.store.get(key));
    if (!pvc) {
      log.v(3).info('PVC is deleted or does not exist');
      return;
    }
    const volumeName = pvc.spec?.volumeName;
    if (!volumeName) {
      log.v(4).info('PV bound to PVC is not created yet');
      return;
    }
    let pv = this.#volumeWrites.freshest(volumeName, this.#d.volumes.store.get(volumeName));
    // The PV informer may simply not have caught up yet: retry rather than drop (Go #520).
    if (!pv) throw new Error(`PV ${JSON.stringify(volumeName)} bound to pvc ${JSON.stringify(key)} not found`);

    if (this.#o.annotateFsResize && statusCapacity(pvc).cmp(volumeCapacity(pv)) >= 0 && hasAnnotation(pv, ANN_PRE_RESIZE_CAPACITY)) {
      try {
        pv = await this.#writeVolume(pv, volumeWithoutPreResizeAnnotation(pv));
      } catch (err) {
        throw new Error(`failed removing annotation ${ANN_PRE_RESIZE_CAPACITY} from pv ${JSON.stringify(pv.metadata?.name)}: ${errorMessage(err)}`, { cause: err });
      }
    }

    if (!claimWantsResize(pvc)) {
      log.v(4).info('No need to resize PVC');
      return;
    }
    if (this.#o.recoverVolumeExpansionFailure) return this.#expandAndRecover(key, pvc, pv, log);
    return this.#legacyResize(key, pvc, pv, log);
  }

  async #expandAndRecover(key: string, pvc: PersistentVolumeClaim, pv: PersistentVolume, log: Logger): Promise<SyncResult> {
    const match = canExpand(this.#driver, pv, pvc);
    if (!match.ok) {
      log.v(4).info('No need to resize', { reason: match.reason });
      return;
    }
    const status = resizeStatusOf(pvc);
    const inSlowSet = this.#slowSet.contains(key);
    // An infeasible claim is remembered from its next look on, so the look after that waits.
    if (status === ResizeStatus.ControllerResizeInfeasible) this.#slowSet.add(key);

    const decision = chooseResizeTarget({
      spec: requestedSize(pvc),
      pv: volumeCapacity(pv),
      allocated: allocatedSize(pvc),
      status,
      lastAttemptFinal: this.#finalErrors.has(key),
      controllerExpansion: this.#d.resizer.controllerExpansion,
      fsResizePending: hasFileSystemResizePending(pvc),
      inSlowSet,
    });
    if (decision.kind === 'none') {
      log.v(4).info('No resize needed now', { reason: decision.reason });
      return;
    }
    if (decision.kind === 'delay') {
      const after = this.#slowSet.timeRemainingMs(key);
      log.v(4).info(`skipping volume expansion for pvc ${key}, because expansion previously failed with infeasible error`, { retryInMs: after });
      return { requeueAfterMs: after };
    }
    const { target, statusUnchanged } = decision;

    try {
      pvc = await this.#writeClaim(pvc, (c) => markControllerResizeInProgress(c, target, statusUnchanged, this.#d.clock.now()), true);
    } catch (err) {
      throw new Error(`marking pvc ${JSON.stringify(key)} as resizing failed: ${errorMessage(err)}`, { cause: err });
    }

    this.#inUseGate(key, pvc);
    this.#event(pvc, 'Normal', EventReason.Resizing, `External resizer is resizing volume ${pv.metadata?.name ?? ''}`);
    const uid = pvc.metadata?.uid ?? '';
    this.#inUseErrors.delete(uid);

    try {
      await this.#callResizeOnPlugin(key, pvc, pv, target, log);
    } catch (err) {
      this.#event(pvc, 'Warning', EventReason.VolumeResizeFailed, errorMessage(err));
      throw err;
    }
    log.v(4).info('Update capacity of PV succeeded', { PV: pv.metadata?.name, capacity: target.toString() });
  }

  async #callResizeOnPlugin(key: string, pvc: PersistentVolumeClaim, pv: PersistentVolume, target: Quantity, log: Logger): Promise<void> {
    const oldCapacity = statusCapacity(pvc);
    let result;
    try {
      result = await this.#d.resizer.resize(pv, target);
    } catch (err) {
      const failure = classifyFailure(err);
      if (failure.inUse) this.#inUseErrors.add(pvc.metadata?.uid ?? '');
      if (failure.final) {
        this.#finalErrors.add(key);
        const mark = failure.infeasible ? markControllerResizeInfeasible : markControllerResizeFailed;
        if (!failure.infeasible) this.#slowSet.remove(key);
        try {
          await this.#writeClaim(pvc, (c) => mark(c, errorMessage(err), this.#d.clock.now()), false);
        } catch (markErr) {
          throw new Error(`resizing failed in controller with ${errorMessage(err)} but failed to update PVC ${key} with: ${errorMessage(markErr)}`, { cause: err });
        }
      } else {
        this.#slowSet.remove(key);
        this.#finalErrors.delete(key);
      }
      log.v(2).info('Controller expansion failed', { final: failure.final, infeasible: failure.infeasible, error: errorMessage(err) });
      throw new Error(`resize volume ${JSON.stringify(pv.metadata?.name ?? '')} by resizer ${JSON.stringify(this.#driver)} failed: ${errorMessage(err)}`, { cause: err });
    }

    this.#finalErrors.delete(key);
    this.#slowSet.remove(key);
    try {
      pv = await this.#writeVolume(
        pv,
        volumeWithCapacity(pv, result.size, this.#o.annotateFsResize && result.nodeExpansionRequired ? oldCapacity : undefined),
      );
    } catch (err) {
      throw new Error(`error updating pv ${JSON.stringify(pv.metadata?.name ?? '')} by resizer: ${errorMessage(err)}`, { cause: err });
    }

    if (result.nodeExpansionRequired) {
      try {
        pvc = await this.#writeClaim(pvc, (c) => markNodeExpansionPending(c, this.#d.clock.now()), true);
      } catch (err) {
        throw new Error(`mark PVC ${JSON.stringify(key)} as node expansion required failed: ${errorMessage(err)}`, { cause: err });
      }
      this.#event(pvc, 'Normal', EventReason.FileSystemResizeRequired, 'Require file system resize of volume on node');
      return;
    }
    try {
      pvc = await this.#writeClaim(pvc, (c) => markResizeFinished(c, result.size), true);
    } catch (err) {
      throw new Error(`mark PVC ${JSON.stringify(key)} as resize finished failed: ${errorMessage(err)}`, { cause: err });
    }
    this.#event(pvc, 'Normal', EventReason.VolumeResizeSuccessful, 'Resize volume succeeded');
  }

  /** Offline-only drivers: no second attempt while a running pod still uses the claim. */
  #inUseGate(key: string, pvc: PersistentVolumeClaim): void {
    const pods = this.#d.pods;
    const uid = pvc.metadata?.uid ?? '';
    if (!pods || !this.#inUseErrors.has(uid)) return;
    if (!pods.isClaimInUse(pvc.metadata?.namespace ?? '', pvc.metadata?.name ?? '')) return;
    const msg = `Unable to expand ${key} because CSI driver ${this.#driver} only supports offline expansion and volume is currently in-use`;
    this.#event(pvc, 'Warning', EventReason.VolumeResizeFailed, msg);
    throw new Error(msg);
  }

  // ---- legacy path (RecoverVolumeExpansionFailure disabled) ----

  async #legacyResize(key: string, pvc: PersistentVolumeClaim, pv: PersistentVolume, log: Logger): Promise<SyncResult> {
    const match = canExpand(this.#driver, pv, pvc);
    if (!match.ok) {
      log.v(4).info('No need to resize PV', { reason: match.reason });
      return;
    }
    const request = requestedSize(pvc);
    // PV already big enough and kubelet's turn: nothing for the controller.
    if (volumeCapacity(pv).cmp(request) >= 0 && hasFileSystemResizePending(pvc)) return;

    try {
      pvc = await this.#writeClaim(pvc, (c) => markLegacyResizeInProgress(c, this.#d.clock.now()), true);
    } catch (err) {
      throw new Error(`Mark PVC ${JSON.stringify(key)} as resize as in progress failed: ${errorMessage(err)}`, { cause: err });
    }
    this.#inUseGate(key, pvc);
    this.#event(pvc, 'Normal', EventReason.Resizing, `External resizer is resizing volume ${pv.metadata?.name ?? ''}`);

    try {
      this.#inUseErrors.delete(pvc.metadata?.uid ?? '');
      let result;
      try {
        result = await this.#d.resizer.resize(pv, request);
      } catch (err) {
        if (classifyFailure(err).inUse) this.#inUseErrors.add(pvc.metadata?.uid ?? '');
        throw new Error(`resize volume ${JSON.stringify(pv.metadata?.name ?? '')} by resizer ${JSON.stringify(this.#driver)} failed: ${errorMessage(err)}`, { cause: err });
      }
      try {
        pv = await this.#writeVolume(pv, volumeWithCapacity(pv, result.size, this.#o.annotateFsResize && result.nodeExpansionRequired ? statusCapacity(pvc) : undefined));
      } catch (err) {
        throw new Error(`updating capacity of PV ${JSON.stringify(pv.metadata?.name ?? '')} to ${result.size.toString()} failed: ${errorMessage(err)}`, { cause: err });
      }
      if (result.nodeExpansionRequired) {
        pvc = await this.#writeClaim(pvc, (c) => markLegacyFsResizeRequired(c, this.#d.clock.now()), true);
        this.#event(pvc, 'Normal', EventReason.FileSystemResizeRequired, 'Require file system resize of volume on node');
      } else {
        pvc = await this.#writeClaim(pvc, (c) => markLegacyResizeFinished(c, result.size), true);
        this.#event(pvc, 'Normal', EventReason.VolumeResizeSuccessful, 'Resize volume succeeded');
      }
    } catch (err) {
      // Conflicts are retried quietly on this path (as in Go).
      if (!isConflictError(err)) this.#event(pvc, 'Warning', EventReason.VolumeResizeFailed, errorMessage(err));
      throw err;
    }
  }

  // ---- writes ----

  async #writeClaim(pvc: PersistentVolumeClaim, mutate: (c: PersistentVolumeClaim) => PersistentVolumeClaim, precondition: boolean): Promise<PersistentVolumeClaim> {
    return this.#claimWrites.track(claimKey(pvc), () => this.#d.api.updateClaimStatus(pvc, mutate, { precondition }), pvc);
  }

  async #writeVolume(pv: PersistentVolume, next: PersistentVolume): Promise<PersistentVolume> {
    return this.#volumeWrites.track(pv.metadata?.name ?? '', () => this.#d.api.patchVolume(pv, next), pv);
  }

  /** Introspection for tests and diagnostics. */
  get state(): { slowSet: number; finalErrors: number; inUseErrors: number } {
    return { slowSet: this.#slowSet.size, finalErrors: this.#finalErrors.size, inUseErrors: this.#inUseErrors.size };
  }
  #event(pvc: PersistentVolumeClaim, type: EventType, reason: string, message: string): void {
    claimEvent(this.#d.events, this.#log, pvc, type, reason, message);
  }
}
