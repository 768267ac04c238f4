// The modify controller: when a bound claim's spec.volumeAttributesClassName differs from the
// class it has (status.currentVolumeAttributesClassName), call ControllerModifyVolume with the
// new class's parameters and record progress, failure or success on the claim and its PV.
//
// A call that ended without a final answer (timeout, Unavailable...) leaves the claim
// "uncertain": until the driver answers for that class, the controller keeps asking for the
// same one, whatever the user changes meanwhile. InvalidArgument marks the change Infeasible;
// the user recovers by going back to the current class (a rollback call) or to none (cancel).

import { deletedObject, grpcCodeName, grpcStatusOf, isFinalError, RateLimitingQueue, runWorkers, sidecarRateLimiter, GrpcCode } from '@csi-sidecars-ts/shared';
import type {
  Clock,
  EventRecorder,
  EventType,
  Logger,
  PersistentVolume,
  PersistentVolumeClaim,
  VolumeAttributesClass,
  WorkQueueMetricsProvider,
  WorkResult,
} from '@csi-sidecars-ts/shared';
import type { ResizerApi } from '../api/resizer-api.js';
import { Condition, EventReason, ModifyStatus, MODIFY_PARAM_PV_NAME, MODIFY_PARAM_PVC_NAME, MODIFY_PARAM_PVC_NAMESPACE } from '../constants.js';
import { errorMessage } from '../resizer/errors.js';
import type { VolumeModifier } from '../resizer/volume-modifier.js';
import type { ModifyFailureInfo } from './modify-status.js';
import { markModifyRolledBack, markModifyVolumeCompleted, markModifyVolumeStatus, volumeWithAttributesClass } from './modify-status.js';
import type { CachedResource } from './shared-types.js';
import { claimEvent, claimKey } from './shared-types.js';
import { SlowSet } from './slow-set.js';
import { modifyUpdateNeedsSync } from './triggers.js';
import { WriteTracker } from './write-tracker.js';

export interface ModifyControllerOptions {
  workers: number;
  resyncPeriodMs: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  /** --extra-modify-metadata */
  extraModifyMetadata: boolean;
}

export interface ModifyControllerDeps {
  modifier: VolumeModifier;
  api: ResizerApi;
  claims: CachedResource<PersistentVolumeClaim>;
  volumes: CachedResource<PersistentVolume>;
  classes: CachedResource<VolumeAttributesClass>;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
}

export class ModifyController {
  readonly queue: RateLimitingQueue<string>;
  readonly #d: ModifyControllerDeps;
  readonly #o: ModifyControllerOptions;
  readonly #log: Logger;
  readonly #driver: string;
  readonly #slowSet: SlowSet;
  /** Claims whose last ControllerModifyVolume ended without a final answer. */
  readonly #uncertain = new Set<string>();
  readonly #claimWrites = new WriteTracker<PersistentVolumeClaim>((o, n) => this.#onUpdate(o, n));
  readonly #volumeWrites = new WriteTracker<PersistentVolume>();
  readonly #handlers: { dispose(): unknown }[] = [];

  constructor(deps: ModifyControllerDeps, options: ModifyControllerOptions) {
    this.#d = deps;
    this.#o = options;
    this.#driver = deps.modifier.driverName;
    this.#log = deps.logger.withName('modify-controller');
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
          onAdd: (pvc) => this.queue.add(claimKey(pvc)),
          onUpdate: (oldPvc, newPvc) => this.#onUpdate(oldPvc, newPvc),
          onDelete: (obj) => this.#onDelete(deletedObject(obj)),
        },
        { resyncPeriodMs: options.resyncPeriodMs, name: 'modifier-pvc' },
      ),
      // The Go controller never looks at a claim left Pending for a missing class again; we
      // pick those claims up when the class appears.
      deps.classes.addEventHandler(
        {
          onAdd: (vac, isInitialList) => {
            if (!isInitialList) this.#enqueuePendingFor(vac);
          },
          onUpdate: (_old, vac) => this.#enqueuePendingFor(vac),
        },
        { name: 'modifier-vac' },
      ),
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    this.#log.info('Starting external resizer for modify volume', { controller: this.#driver });
    try {
      await Promise.all([this.#d.claims.waitForSync(signal), this.#d.volumes.waitForSync(signal), this.#d.classes.waitForSync(signal)]);
    } catch (err) {
      if (signal.aborted) return;
      this.#log.error('Cannot sync pv, pvc or vac caches', err);
      throw err;
    }
    // After a restart an InProgress claim may have a call still running in the driver.
    for (const pvc of this.#d.claims.store.list()) {
      if (pvc.status?.modifyVolumeStatus?.status === ModifyStatus.InProgress) this.#uncertain.add(claimKey(pvc));
    }
    await runWorkers(this.queue, this.#o.workers, (key) => this.syncClaim(key), signal, { logger: this.#log });
    this.#log.info('Shutting down external resizer', { controller: this.#driver });
  }

  dispose(): void {
    for (const h of this.#handlers.splice(0)) h.dispose();
    this.queue.shutDown();
  }

  isUncertain(key: string): boolean {
    return this.#uncertain.has(key);
  }

  // ---- handlers ----

  #onUpdate(oldPvc: PersistentVolumeClaim, newPvc: PersistentVolumeClaim): void {
    const key = claimKey(newPvc);
    if (this.#claimWrites.absorb(key, oldPvc, newPvc)) return;
    if (modifyUpdateNeedsSync(oldPvc, newPvc, (name) => this.#d.volumes.store.get(name) !== undefined)) this.queue.add(key);
  }

  #onDelete(pvc: PersistentVolumeClaim): void {
    const key = claimKey(pvc);
    this.queue.forget(key);
    this.#claimWrites.forget(key);
    this.#slowSet.remove(key);
    this.#uncertain.delete(key);
  }

  #enqueuePendingFor(vac: VolumeAttributesClass): void {
    const name = vac.metadata?.name;
    if (!name) return;
    for (const pvc of this.#d.claims.store.list()) {
      if (pvc.spec?.volumeAttributesClassName === name && pvc.status?.modifyVolumeStatus?.status === ModifyStatus.Pending) {
        this.queue.add(claimKey(pvc));
      }
    }
  }

  // ---- worker ----

  async syncClaim(key: string): Promise<WorkResult> {
    const log = this.#log.withValues({ PVC: key });
    log.v(4).info('Started PVC processing for modify controller');
    const pvc = this.#claimWrites.freshest(key, this.#d.claims.store.get(key));
    if (!pvc) {
      log.v(3).info('PVC is deleted or does not exist');
      return;
    }
    const volumeName = pvc.spec?.volumeName;
    if (!volumeName) {
      log.v(4).info('PV bound to PVC is not created yet');
      return;
    }
    const pv = this.#volumeWrites.freshest(volumeName, this.#d.volumes.store.get(volumeName));
    if (!pv) throw new Error(`PV ${JSON.stringify(volumeName)} of pvc ${JSON.stringify(key)} is not in the cache`);
    if (pv.spec?.csi?.driver !== this.#driver) {
      log.v(7).info('Skipping PV provisioned by different driver', { PV: volumeName });
      return;
    }
    if (pvc.status?.phase !== 'Bound') {
      log.v(4).info('No need to modify PV', { PV: volumeName });
      return;
    }
    return this.#modify(key, pvc, pv, log);
  }

  async #modify(key: string, pvc: PersistentVolumeClaim, pv: PersistentVolume, log: Logger): Promise<WorkResult> {
    const delay = this.#delayIfRecentlyInfeasible(key, pvc);
    if (delay !== undefined) {
      log.v(4).info(`skipping volume modification for pvc ${key}, because modification previously failed with infeasible error`, { retryInMs: delay });
      return { requeueAfterMs: delay };
    }
    const specVac = pvc.spec?.volumeAttributesClassName ?? '';
    const currentVac = pvc.status?.currentVolumeAttributesClassName ?? '';
    const status = pvc.status?.modifyVolumeStatus;
    if (!status && specVac === currentVac) return;

    const inProgress = status?.status === ModifyStatus.InProgress;
    if (specVac === '' && !inProgress) {
      log.v(4).info('stop reconcile for rolled back PVC');
      await this.#rolledBack(pvc);
      return;
    }
    if ((inProgress && this.#uncertain.has(key)) || specVac === '') {
      const vac = this.#targetClass(pvc, status?.targetVolumeAttributesClassName ?? '');
      await this.#modifyWithTarget(key, pvc, pv, vac);
      return;
    }

    const vac = this.#d.classes.store.get(specVac);
    if (!vac) {
      this.#event(pvc, 'Warning', EventReason.VolumeModifyFailed, `VAC ${JSON.stringify(specVac)} does not exist.`);
      // Left Pending; the VolumeAttributesClass handler brings the claim back when the class appears.
      await this.#writeClaim(pvc, (c) => markModifyVolumeStatus(c, ModifyStatus.Pending, undefined, this.#d.clock.now()), true);
      return;
    }
    const marked = await this.#writeClaim(pvc, (c) => markModifyVolumeStatus(c, ModifyStatus.InProgress, undefined, this.#d.clock.now()), true);
    this.#event(marked, 'Normal', EventReason.VolumeModify, `external resizer is modifying volume ${pvc.metadata?.name ?? ''} with vac ${specVac}`);
    await this.#modifyWithTarget(key, marked, pv, vac);
  }

  #targetClass(pvc: PersistentVolumeClaim, name: string): VolumeAttributesClass {
    const vac = this.#d.classes.store.get(name);
    if (vac) return vac;
    this.#event(pvc, 'Warning', EventReason.VolumeModifyFailed, `VAC ${JSON.stringify(name)} does not exist.`);
    throw new Error(`get VAC with vac name ${name} in VACInformer cache failed: volumeattributesclass.storage.k8s.io ${JSON.stringify(name)} not found`);
  }

  async #rolledBack(pvc: PersistentVolumeClaim): Promise<void> {
    if (!(pvc.status?.conditions ?? []).some((c) => c.type === Condition.ModifyingVolume)) return;
    this.#event(pvc, 'Normal', EventReason.VolumeModifyCanceled, 'Cancelled modify.');
    try {
      await this.#writeClaim(pvc, markModifyRolledBack, false);
    } catch (err) {
      throw new Error(`mark PVC ${JSON.stringify(pvc.metadata?.name ?? '')} as rolled back failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #modifyWithTarget(key: string, pvc: PersistentVolumeClaim, pv: PersistentVolume, vac: VolumeAttributesClass): Promise<void> {
    const vacName = vac.metadata?.name ?? '';
    const parameters: Record<string, string> = { ...(vac.parameters ?? {}) };
    if (this.#o.extraModifyMetadata) {
      parameters[MODIFY_PARAM_PVC_NAME] = pvc.metadata?.name ?? '';
      parameters[MODIFY_PARAM_PVC_NAMESPACE] = pvc.metadata?.namespace ?? '';
      parameters[MODIFY_PARAM_PV_NAME] = pv.metadata?.name ?? '';
    }
    try {
      await this.#d.modifier.modify(pv, parameters);
    } catch (err) {
      await this.#recordFailure(key, pvc, vacName, err);
      throw err;
    }
    this.#uncertain.delete(key);
    const target = pvc.status?.modifyVolumeStatus?.targetVolumeAttributesClassName || vacName;
    try {
      await this.#writeVolume(pv, volumeWithAttributesClass(pv, target));
      pvc = await this.#writeClaim(pvc, (c) => markModifyVolumeCompleted(c, target), false);
    } catch (err) {
      throw new Error(`modify volume failed to mark pvc ${pvc.metadata?.name ?? ''} modify volume completed: ${errorMessage(err)}`, { cause: err });
    }
    this.#slowSet.remove(key);
    this.#event(
      pvc,
      'Normal',
      EventReason.VolumeModifySuccessful,
      `external resizer modified volume ${pvc.metadata?.name ?? ''} with vac ${vacName} successfully`,
    );
  }

  async #recordFailure(key: string, pvc: PersistentVolumeClaim, vacName: string, err: unknown): Promise<void> {
    const status = grpcStatusOf(err);
    if (!status) {
      // Not an answer from the driver (secret missing, connection gone): nothing to record on the claim.
      throw new Error(`cannot get error status from modify volume err: ${errorMessage(err)}`, { cause: err });
    }
    const final = isFinalError(err);
    let message = errorMessage(err);
    let target: string = ModifyStatus.InProgress;
    if (!final) {
      this.#uncertain.add(key);
      message += `. Still modifying to VAC ${vacName}`;
    } else {
      if (status.code === GrpcCode.InvalidArgument) target = ModifyStatus.Infeasible;
      this.#uncertain.delete(key);
    }
    const failure: ModifyFailureInfo = { final, codeName: grpcCodeName(status.code), details: status.details };
    const updated = await this.#writeClaim(pvc, (c) => markModifyVolumeStatus(c, target, failure, this.#d.clock.now()), true);
    if (updated.status?.modifyVolumeStatus?.status === ModifyStatus.Infeasible) this.#slowSet.add(key);
    this.#event(updated, 'Warning', EventReason.VolumeModifyFailed, message);
  }

  /** Infeasible and unchanged since: wait out the slow-retry period. Returns the delay, if any. */
  #delayIfRecentlyInfeasible(key: string, pvc: PersistentVolumeClaim): number | undefined {
    const s = pvc.status?.modifyVolumeStatus;
    const specVac = pvc.spec?.volumeAttributesClassName;
    if (!s || specVac === undefined || specVac === null || s.targetVolumeAttributesClassName !== specVac) {
      this.#slowSet.remove(key);
      return undefined;
    }
    const inSlowSet = this.#slowSet.contains(key);
    if (s.status === ModifyStatus.Infeasible) this.#slowSet.add(key);
    return inSlowSet ? this.#slowSet.timeRemainingMs(key) : undefined;
  }

  async #writeClaim(pvc: PersistentVolumeClaim, mutate: (c: PersistentVolumeClaim) => PersistentVolumeClaim, precondition: boolean): Promise<PersistentVolumeClaim> {
    try {
      return await this.#claimWrites.track(claimKey(pvc), () => this.#d.api.updateClaimStatus(pvc, mutate, { precondition }), pvc);
    } catch (err) {
      throw new Error(`mark PVC ${JSON.stringify(pvc.metadata?.name ?? '')} modify volume status failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #writeVolume(pv: PersistentVolume, next: PersistentVolume): Promise<PersistentVolume> {
    return this.#volumeWrites.track(pv.metadata?.name ?? '', () => this.#d.api.patchVolume(pv, next), pv);
  }
  #event(pvc: PersistentVolumeClaim, type: EventType, reason: string, message: string): void {
    claimEvent(this.#d.events, this.#log, pvc, type, reason, message);
  }
}
