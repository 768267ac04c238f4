// The small interfaces the controllers are written against, so tests can drive them with
// in-memory doubles. The shared runtime's Informer and EventRecorder satisfy them.

import { objectReference, PERSISTENT_VOLUME_CLAIMS } from '@csi-sidecars-ts/shared';
import type { Disposable, EventHandlers, EventRecorder, EventType, HandlerOptions, KubeObject, Logger, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';

/** A cache of one resource plus change notifications: what an Informer offers a controller. */
export interface CachedResource<T extends KubeObject> {
  readonly store: { get(key: string): T | undefined; list(): T[] };
  addEventHandler(handlers: EventHandlers<T>, opts?: HandlerOptions): Disposable;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/** Records an Event about a PVC; a claim that cannot be referenced is logged instead. Never throws. */
export function claimEvent(recorder: EventRecorder, log: Logger, claim: PersistentVolumeClaim, type: EventType, reason: string, message: string): void {
  try {
    recorder.event(objectReference(claim, PERSISTENT_VOLUME_CLAIMS), type, reason, message);
  } catch (err) {
    log.error('Cannot record event', err, { reason, message });
  }
}

/** "namespace/name" of a PVC, the work queue key. */
export function claimKey(claim: PersistentVolumeClaim): string {
  return `${claim.metadata?.namespace ?? ''}/${claim.metadata?.name ?? ''}`;
}
