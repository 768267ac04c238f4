// Saving the PV of a freshly created volume, without ever losing track of the volume:
//   - created → ProvisioningSucceeded on the claim;
//   - AlreadyExists → the existing PV is read back. If it is ours (same volume handle, same claim
//     UID) that is success (an earlier attempt saved it). If not, the volume we just created is
//     a stray nobody would ever delete: it is deleted from the backend (Go reuses the other PV
//     and leaks the new volume, external-provisioner #1469);
//   - any other failure → retried in the background (queue "unsavedpvs", client-go's default
//     controller limiter) until saved, as Go does; a PV saved for a claim deleted meanwhile is
//     released and cleaned up by the normal deletion path. The first failure is reported on the
//     claim (a Warning naming the error, e.g. a missing RBAC permission); a claim that is gone
//     while the PV still cannot be saved gets its volume deleted instead of retried forever.

import {
  PERSISTENT_VOLUME_CLAIMS,
  RateLimitingQueue,
  defaultControllerRateLimiter,
  isAlreadyExists,
  isNotFound,
  objectReference,
  runWorkers,
} from '@csi-sidecars-ts/shared';
import type {
  Clock,
  Disposable,
  EventRecorder,
  Logger,
  PersistentVolume,
  PersistentVolumeClaim,
  WorkQueueMetricsProvider,
} from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { REASON_PROVISIONING_FAILED, REASON_PROVISIONING_SUCCEEDED } from './constants.js';
import { volumeHandleOf } from './migration.js';

export const UNSAVED_PVS_QUEUE = 'unsavedpvs';
export const SAVE_WORKERS = 4;

export interface SaveJob {
  pv: PersistentVolume;
  /** The backend volume the PV describes. */
  volumeId: string;
  /** Provisioner secret data, for deleting the volume if it turns out to be a stray. */
  secrets: Record<string, string> | undefined;
  claimUid: string;
}

/** 'saved': the PV exists and is ours. 'pending': retried in the background. 'stray': our new volume was deleted again. */
export type SaveOutcome = 'saved' | 'pending' | 'stray';

export interface VolumeSaverDeps {
  api: ProvisionerApi;
  /** DeleteVolume with retries inside one --timeout; resolves to the last error or undefined. */
  deleteBackendVolume(volumeId: string, secrets: Record<string, string> | undefined, signal?: AbortSignal): Promise<unknown>;
  /** The claim with this UID from the informer cache (events go to live claims only). */
  claimByUid(uid: string): PersistentVolumeClaim | undefined;
  recorder: EventRecorder;
  logger: Logger;
  clock: Clock;
  queueMetrics?: WorkQueueMetricsProvider;
  /** Told when a job is over (PV saved, or the stray volume deleted): its journal entry can go. */
  onSettled?(job: SaveJob, outcome: 'saved' | 'stray'): Promise<void> | void;
}

interface Pending {
  job: SaveJob;
  /** Set once the volume is known to be a stray: only its deletion is left to do. */
  strayOf?: PersistentVolume;
  /** The claim has been told (once) why its PV is not saved yet. */
  warned?: boolean;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class VolumeSaver implements Disposable {
  readonly #deps: VolumeSaverDeps;
  readonly #log: Logger;
  readonly #pending = new Map<string, Pending>();
  readonly queue: RateLimitingQueue<string>;
  #stop = new AbortController();

  constructor(deps: VolumeSaverDeps) {
    this.#deps = deps;
    this.#log = deps.logger.withName('volume-saver');
    this.queue = new RateLimitingQueue<string>({
      name: UNSAVED_PVS_QUEUE,
      clock: deps.clock,
      metrics: deps.queueMetrics,
      rateLimiter: defaultControllerRateLimiter(deps.clock),
    });
  }

  /** A PV of this name is waiting to be saved (do not provision it again meanwhile). */
  has(pvName: string): boolean {
    return this.#pending.has(pvName);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** One attempt now; on a transient failure the job continues in the background. */
  async store(job: SaveJob, signal?: AbortSignal): Promise<SaveOutcome> {
    const p: Pending = { job };
    const outcome = await this.#attempt(p, signal);
    if (outcome === 'retry') {
      this.#pending.set(job.pv.metadata?.name ?? '', p);
      this.queue.addRateLimited(job.pv.metadata?.name ?? '');
      return p.strayOf ? 'stray' : 'pending';
    }
    await this.#settled(job, outcome);
    return outcome;
  }

  /** Background workers for failed saves; resolves when stopped. */
  run(signal: AbortSignal, workers = SAVE_WORKERS): Promise<void> {
    const stop = this.#stop.signal;
    const both = AbortSignal.any([signal, stop]);
    return runWorkers(
      this.queue,
      workers,
      async (name, sig) => {
        const p = this.#pending.get(name);
        if (!p) return undefined;
        // A claim deleted while its PV could not be saved (e.g. no RBAC to create PVs) no longer
        // wants the volume: delete it, as the journal's replay would, instead of retrying forever.
        const outcome = p.strayOf || this.#deps.claimByUid(p.job.claimUid) ? await this.#attempt(p, sig) : await this.#abandon(p, sig);
        if (outcome === 'retry') return { requeue: 'rateLimited' as const };
        this.#pending.delete(name);
        await this.#settled(p.job, outcome);
        return undefined;
      },
      both,
      { logger: this.#log },
    );
  }

  dispose(): void {
    this.#stop.abort();
    this.queue.shutDown();
  }

  async #settled(job: SaveJob, outcome: 'saved' | 'stray' | 'pending'): Promise<void> {
    if (outcome === 'pending') return;
    try {
      await this.#deps.onSettled?.(job, outcome);
    } catch (err) {
      this.#log.error('onSettled failed', err, { pv: job.pv.metadata?.name });
    }
  }

  #event(claimUid: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const claim = this.#deps.claimByUid(claimUid);
    if (claim) this.#deps.recorder.event(objectReference(claim, PERSISTENT_VOLUME_CLAIMS), type, reason, message);
  }

  async #attempt(p: Pending, signal?: AbortSignal): Promise<SaveOutcome | 'retry'> {
    const { job } = p;
    const name = job.pv.metadata?.name ?? '';
    if (p.strayOf) return this.#deleteStray(p, p.strayOf, signal);
    try {
      await this.#deps.api.createPersistentVolume(job.pv, signal);
      this.#log.v(4).info('PersistentVolume saved', { pv: name });
      this.#event(job.claimUid, 'Normal', REASON_PROVISIONING_SUCCEEDED, `Successfully provisioned volume ${name}`);
      return 'saved';
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.#log.error('Failed to save PersistentVolume, will retry', err, { pv: name });
        if (!p.warned) {
          // Once per volume: the claim shows why it stays Pending (e.g. the missing RBAC permission).
          p.warned = true;
          this.#event(job.claimUid, 'Warning', REASON_PROVISIONING_FAILED, `failed to save PersistentVolume ${name} for volume ${job.volumeId}, will retry: ${errorText(err)}`);
        }
        return 'retry';
      }
    }
    let existing: PersistentVolume;
    try {
      existing = await this.#deps.api.getPersistentVolume(name, signal);
    } catch (err) {
      // Gone again between create and get (or unreadable): try the create again later.
      this.#log.v(2).info('PersistentVolume exists but cannot be read back, will retry', { pv: name, err: errorText(err), notFound: isNotFound(err) });
      return 'retry';
    }
    // Handles, not sources: an in-tree PV (CSI migration) is compared through its CSI translation.
    const sameVolume = volumeHandleOf(existing) === (volumeHandleOf(job.pv) ?? job.volumeId);
    const sameClaim = existing.spec?.claimRef?.uid === job.claimUid;
    if (sameVolume && sameClaim) {
      this.#log.v(2).info('PersistentVolume already exists, reusing', { pv: name });
      if (!existing.metadata?.deletionTimestamp) {
        this.#event(job.claimUid, 'Normal', REASON_PROVISIONING_SUCCEEDED, `Successfully provisioned volume ${name}`);
      }
      return 'saved';
    }
    if (sameVolume) {
      // The same backend volume is already described by a PV (of an older incarnation of the
      // claim): deleting it here would pull it from under that PV.
      this.#log.warn('PersistentVolume exists for the same volume but another claim; not saving', { pv: name, claimUid: job.claimUid });
      return 'saved';
    }
    p.strayOf = existing;
    return this.#deleteStray(p, existing, signal);
  }

  /** The claim is gone before its PV could be saved: deletes the volume unless a PV for it exists after all. */
  async #abandon(p: Pending, signal?: AbortSignal): Promise<SaveOutcome | 'retry'> {
    const { job } = p;
    const name = job.pv.metadata?.name ?? '';
    try {
      const existing = await this.#deps.api.getPersistentVolume(name, signal);
      // An earlier create went through after all: the normal deletion path owns it now.
      if (volumeHandleOf(existing) === (volumeHandleOf(job.pv) ?? job.volumeId)) return 'saved';
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.error('Claim deleted before its PersistentVolume was saved; cannot check the PersistentVolume, will retry', err, { pv: name });
        return 'retry';
      }
    }
    const err = await this.#deps.deleteBackendVolume(job.volumeId, job.secrets, signal);
    if (err) {
      this.#log.error('Claim deleted before its PersistentVolume was saved; deleting the volume failed, will retry', err, { pv: name, volumeId: job.volumeId });
      return 'retry';
    }
    this.#log.warn('Claim deleted before its PersistentVolume was saved; deleted the volume instead of leaking it', { pv: name, volumeId: job.volumeId, claimUid: job.claimUid });
    return 'stray';
  }

  async #deleteStray(p: Pending, existing: PersistentVolume, signal?: AbortSignal): Promise<'stray' | 'retry'> {
    const { job } = p;
    const name = job.pv.metadata?.name ?? '';
    const err = await this.#deps.deleteBackendVolume(job.volumeId, job.secrets, signal);
    const what = `PersistentVolume ${name} already exists for volume ${volumeHandleOf(existing) ?? '<none>'} (claim UID ${existing.spec?.claimRef?.uid ?? '<none>'}${existing.metadata?.deletionTimestamp ? ', being deleted' : ''})`;
    if (err) {
      this.#log.error('Newly created volume cannot be saved and its deletion failed, will retry', err, { pv: name, volumeId: job.volumeId });
      return 'retry';
    }
    this.#log.warn('Deleted a newly created volume that could not be saved', { pv: name, volumeId: job.volumeId, existing: volumeHandleOf(existing) });
    this.#event(job.claimUid, 'Warning', REASON_PROVISIONING_FAILED, `${what}; deleted the newly created volume ${job.volumeId} instead of leaking it`);
    return 'stray';
  }
}
