// The claim controller: every PVC event enqueues the claim's UID; --worker-threads workers take
// UIDs off the queue (one worker per UID at a time, so a claim is never provisioned twice
// concurrently) and provision the claims that are ours, with per-claim exponential backoff
// between --retry-interval-start and --retry-interval-max.
//
// Claims whose CreateVolume may still be running in the driver (timeout, Unavailable...) are
// kept "in progress" with a copy of the claim, and retried with that copy even after the claim
// is deleted, until the driver gives a final answer: a volume created late then gets a PV,
// which is released and deleted by the volume controller instead of leaking.

import { PERSISTENT_VOLUME_CLAIMS, RateLimitingQueue, objectReference, runWorkers, sidecarRateLimiter } from '@csi-sidecars-ts/shared';
import type {
  Clock,
  Disposable,
  EventRecorder,
  Informer,
  KubeObject,
  Logger,
  PersistentVolume,
  PersistentVolumeClaim,
  StorageClass,
  WorkQueueMetricsProvider,
  WorkResult,
} from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { claimStorageClassName, decideClaim, selectedNodeOf } from './claim-decision.js';
import {
  ANN_ALPHA_SELECTED_NODE,
  ANN_SELECTED_NODE,
  REASON_PROVISIONING,
  REASON_PROVISIONING_FAILED,
} from './constants.js';
import type { ProvisionerMetrics } from './metrics.js';
import { driverErrorOf } from './provisioner.js';
import type { CsiProvisioner } from './provisioner.js';
import { IgnoredError, ProvisioningError, isInfeasibleError } from './provisioning-state.js';
import type { ProvisioningState } from './provisioning-state.js';
import type { RecentlyDeletedVolumes } from './recently-deleted.js';
import { SlowSet } from './slow-set.js';
import type { TopologyCache } from './topology-cache.js';
import type { VolumeSaver } from './volume-saver.js';

export const CLAIMS_QUEUE = 'claims';
/** The library re-delivers every claim this often, so anything left unfinished is looked at again. */
export const CLAIM_RESYNC_PERIOD_MS = 15 * 60_000;
export const CLAIM_UID_INDEX = 'uid';

/** Index function for the claim informer: claims by UID (work queue keys are UIDs). */
export function claimUidIndex(obj: KubeObject): string[] {
  return obj.metadata?.uid ? [obj.metadata.uid] : [];
}

export interface ClaimControllerOptions {
  driverName: string;
  knownProvisioners: ReadonlySet<string>;
  workerThreads: number;
  retryIntervalStartMs: number;
  retryIntervalMaxMs: number;
  resyncPeriodMs?: number;
}

/** Node-deployment mode: may this instance work on the claim (and try to take it if free)? */
export interface ClaimOwnership {
  owns(claim: PersistentVolumeClaim, sc: StorageClass, signal: AbortSignal): Promise<boolean>;
}

export interface ClaimControllerDeps {
  provisioner: CsiProvisioner;
  api: ProvisionerApi;
  claims: Informer<PersistentVolumeClaim>;
  /** PVs by name, from the informer cache. */
  volume(name: string): PersistentVolume | undefined;
  storageClass(name: string): StorageClass | undefined;
  saver: VolumeSaver;
  recentlyDeleted: RecentlyDeletedVolumes;
  topologyCache: TopologyCache;
  recorder: EventRecorder;
  metrics: ProvisionerMetrics;
  clock: Clock;
  logger: Logger;
  queueMetrics?: WorkQueueMetricsProvider;
  ownership?: ClaimOwnership;
  /** Capacity tracking hooks: a volume was created / an attempt failed (state other than NoChange). */
  onProvisioned?(pv: PersistentVolume, sc: StorageClass): void;
  onProvisionFailed?(sc: StorageClass): void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const RATE_LIMITED: WorkResult = { requeue: 'rateLimited' };

export class ClaimController implements Disposable {
  readonly queue: RateLimitingQueue<string>;
  readonly #deps: ClaimControllerDeps;
  readonly #opts: ClaimControllerOptions;
  readonly #log: Logger;
  readonly #inProgress = new Map<string, PersistentVolumeClaim>();
  /** UIDs a worker is syncing right now. */
  readonly #working = new Set<string>();
  readonly #slow: SlowSet;
  #handler: Disposable | undefined;

  constructor(deps: ClaimControllerDeps, opts: ClaimControllerOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#log = deps.logger.withName('claim-controller');
    this.#slow = new SlowSet(opts.retryIntervalMaxMs, deps.clock);
    this.queue = new RateLimitingQueue<string>({
      name: CLAIMS_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: sidecarRateLimiter(opts.retryIntervalStartMs, opts.retryIntervalMaxMs),
    });
    if (!deps.claims.store.hasIndexer(CLAIM_UID_INDEX)) deps.claims.store.addIndexer(CLAIM_UID_INDEX, claimUidIndex);
  }

  /** Claims whose CreateVolume may still be running in the driver. */
  get inProgress(): ReadonlyMap<string, PersistentVolumeClaim> {
    return this.#inProgress;
  }

  /** A worker is syncing the claim now, or its CreateVolume may still be running in the driver. */
  isBusy(uid: string): boolean {
    return this.#working.has(uid) || this.#inProgress.has(uid);
  }

  /** Registers the informer handlers and runs the workers until `signal` aborts. */
  run(signal: AbortSignal): Promise<void> {
    this.#handler = this.#deps.claims.addEventHandler(
      {
        onAdd: (c) => this.#enqueue(c),
        onUpdate: (_old, c) => this.#enqueue(c),
        onDelete: (c) => {
          const claim = 'tombstone' in c ? c.lastKnown : c;
          const uid = claim.metadata?.uid;
          // In-progress claims keep their state: the volume may still appear and must be cleaned up.
          if (uid && !this.#inProgress.has(uid)) this.#forget(uid);
        },
      },
      { resyncPeriodMs: this.#opts.resyncPeriodMs ?? CLAIM_RESYNC_PERIOD_MS, name: 'claim-controller' },
    );
    // Operations already started are not cancelled at shutdown: a CreateVolume that completes
    // can still get its PV saved before the process exits (bounded by --timeout and the API
    // timeout), instead of leaving a volume that only this process's memory knew about. So they
    // get no signal at all: one that never aborts would only collect a listener from every
    // request and CSI call (and Node's EventTarget scans them all on each add and remove).
    return runWorkers(this.queue, this.#opts.workerThreads, (uid, sig) => this.#syncClaim(uid, sig, undefined), signal, { logger: this.#log });
  }

  dispose(): void {
    this.#handler?.dispose();
    this.queue.shutDown();
  }

  #enqueue(claim: PersistentVolumeClaim): void {
    const uid = claim.metadata?.uid;
    if (uid) this.queue.add(uid);
  }

  #forget(uid: string): void {
    this.#deps.topologyCache.delete(uid);
    this.#slow.delete(uid);
  }

  #event(claim: PersistentVolumeClaim, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#deps.recorder.event(objectReference(claim, PERSISTENT_VOLUME_CLAIMS), type, reason, message);
  }

  /**
   * One pass over one claim (the work-queue handler). `signal` interrupts waits (node-mode
   * ownership); `opSignal` cancels the provisioning itself.
   */
  syncClaim(uid: string, signal: AbortSignal, opSignal: AbortSignal = signal): Promise<WorkResult> {
    return this.#syncClaim(uid, signal, opSignal);
  }

  /** `opSignal` undefined: the provisioning cannot be cancelled. */
  async #syncClaim(uid: string, signal: AbortSignal, opSignal: AbortSignal | undefined): Promise<WorkResult> {
    this.#working.add(uid);
    try {
      return await this.#sync(uid, signal, opSignal);
    } finally {
      this.#working.delete(uid);
    }
  }

  async #sync(uid: string, signal: AbortSignal, opSignal: AbortSignal | undefined): Promise<WorkResult> {
    const cached = this.#deps.claims.store.byIndex(CLAIM_UID_INDEX, uid)[0];
    const inProgress = this.#inProgress.get(uid);
    const claim = cached ?? inProgress;
    if (!claim) {
      this.#forget(uid);
      return undefined;
    }
    const key = `${claim.metadata?.namespace}/${claim.metadata?.name}`;
    const log = this.#log.withValues({ claim: key });
    if (cached?.metadata?.deletionTimestamp && !inProgress) {
      log.v(4).info('Claim is being deleted, not provisioning');
      this.#forget(uid);
      return undefined;
    }

    const className = claimStorageClassName(claim);
    const wait = this.#slow.remainingMs(uid, this.#deps.storageClass(className)?.metadata?.uid);
    if (wait > 0) {
      log.v(4).info('Skipping volume provisioning: it recently failed with an infeasible error', { waitMs: wait });
      return { requeueAfterMs: wait };
    }

    const decision = decideClaim({
      claim,
      driverName: this.#opts.driverName,
      knownProvisioners: this.#opts.knownProvisioners,
      storageClass: (n) => this.#deps.storageClass(n),
    });
    if (decision.action === 'skip') {
      log.v(5).info('Not provisioning', { reason: decision.reason });
      this.#inProgress.delete(uid);
      this.#forget(uid);
      return undefined;
    }
    const source = claim.spec?.dataSource?.kind ?? '';
    if (decision.action === 'retry') {
      log.info('Cannot provision yet, will retry', { reason: decision.reason });
      this.#deps.metrics.provisionFailed(className, source);
      return RATE_LIMITED;
    }
    const { storageClass: sc, selectedNode } = decision;

    if (this.#deps.ownership && !(await this.#deps.ownership.owns(claim, sc, signal))) {
      log.v(5).info('Claim is not assigned to this node');
      return undefined;
    }

    const pvName = this.#deps.provisioner.volumeNameFor(claim);
    if (pvName) {
      if (this.#deps.volume(pvName)) {
        log.v(4).info('PersistentVolume already exists, skipping', { pv: pvName });
        this.#inProgress.delete(uid);
        this.#forget(uid);
        return undefined;
      }
      if (this.#deps.saver.has(pvName)) {
        log.v(4).info('PersistentVolume is being saved, skipping', { pv: pvName });
        return undefined;
      }
      if (this.#deps.recentlyDeleted.has(pvName)) {
        log.warn('Not provisioning: a volume of this name was deleted moments ago (stale claim event?)', { pv: pvName });
        this.#inProgress.delete(uid);
        return undefined;
      }
    }

    this.#event(claim, 'Normal', REASON_PROVISIONING, `External provisioner is provisioning volume for claim ${JSON.stringify(key)}`);
    const started = this.#deps.clock.now();
    let result;
    try {
      result = await this.#deps.provisioner.provision(claim, sc, selectedNode, opSignal);
    } catch (err) {
      return this.#failed(claim, sc, err, log, className, source, opSignal);
    }
    this.#deps.onProvisioned?.(result.pv, sc);
    const outcome = await this.#deps.saver.store({ pv: result.pv, volumeId: result.volumeId, secrets: result.secrets, claimUid: uid }, opSignal);
    this.#inProgress.delete(uid);
    this.#forget(uid);
    if (outcome === 'stray') {
      this.#deps.metrics.provisionFailed(className, source);
      return undefined;
    }
    this.#deps.metrics.provisionSucceeded(className, source, (this.#deps.clock.now() - started) / 1000);
    // V(4) as in Go (its library's "Volume is provisioned"): at V(2) the PV's creation is logged already.
    log.v(4).info('Volume provisioned', { pv: result.pv.metadata?.name, saved: outcome });
    return undefined;
  }

  async #failed(
    claim: PersistentVolumeClaim,
    sc: StorageClass,
    err: unknown,
    log: Logger,
    className: string,
    source: string,
    signal: AbortSignal | undefined,
  ): Promise<WorkResult> {
    const uid = claim.metadata?.uid ?? '';
    if (err instanceof IgnoredError) {
      log.v(4).info('Volume provisioning ignored', { reason: err.message });
      this.#inProgress.delete(uid);
      return undefined;
    }
    this.#deps.metrics.provisionFailed(className, source);
    if (isInfeasibleError(driverErrorOf(err))) {
      log.v(2).info('Detected infeasible volume provisioning request', { err: errorText(err) });
      this.#slow.add(uid, sc.metadata?.uid ?? '');
      this.#deps.onProvisionFailed?.(sc);
      this.#event(claim, 'Warning', REASON_PROVISIONING_FAILED, `Volume provisioning failed with infeasible error. Retries will be delayed. ${errorText(err)}`);
      this.#inProgress.delete(uid);
      return RATE_LIMITED;
    }
    // Unexpected errors (bugs, unwrapped API failures) keep whatever in-progress state there is.
    let state: ProvisioningState = err instanceof ProvisioningError ? err.state : 'NoChange';
    if (state !== 'NoChange') this.#deps.onProvisionFailed?.(sc);
    this.#event(claim, 'Warning', REASON_PROVISIONING_FAILED, errorText(err));
    log.info('Provisioning failed', { state, err: errorText(err) });
    if (state === 'Reschedule') {
      if (selectedNodeOf(claim) !== '') {
        try {
          await this.#reschedule(claim, signal);
          log.v(2).info('Volume rescheduled', { err: errorText(err) });
          this.#inProgress.delete(uid);
          this.#forget(uid);
          return undefined;
        } catch (rescheduleErr) {
          log.info('Volume rescheduling failed', { err: errorText(rescheduleErr) });
        }
      }
      state = 'Finished';
    }
    if (state === 'InBackground') this.#inProgress.set(uid, claim);
    else if (state === 'Finished') this.#inProgress.delete(uid);
    return RATE_LIMITED;
  }

  /** Gives the node choice back to the scheduler: removes selected-node from the current claim. */
  async #reschedule(claim: PersistentVolumeClaim, signal: AbortSignal | undefined): Promise<void> {
    const current = this.#deps.claims.store.byIndex(CLAIM_UID_INDEX, claim.metadata?.uid ?? '')[0];
    if (!current) return;
    const updated = structuredClone(current);
    const annotations = { ...updated.metadata?.annotations };
    delete annotations[ANN_SELECTED_NODE];
    delete annotations[ANN_ALPHA_SELECTED_NODE];
    updated.metadata = { ...updated.metadata, annotations };
    try {
      await this.#deps.api.updateClaim(updated, signal);
    } catch (err) {
      throw new Error(`delete annotation 'annSelectedNode' for PersistentVolumeClaim ${JSON.stringify(`${claim.metadata?.namespace}/${claim.metadata?.name}`)}: ${errorText(err)}`, { cause: err });
    }
  }
}
