// What the controller asks of an attach handler: the CSI handler (ControllerPublish/Unpublish)
// or the trivial one (drivers without PUBLISH_UNPUBLISH_VOLUME). The controller owns informers,
// queues and workers; a handler only decides and writes.

import type { PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';

/** 'ok': done, forget the backoff. 'retry': not done, requeue with the key's backoff. */
export type SyncResult = 'ok' | 'retry';

export interface AttachHandler {
  /** One VolumeAttachment of our driver, as cached. Never throws. */
  syncVolumeAttachment(va: VolumeAttachment): Promise<SyncResult>;
  /** One PersistentVolume queued for the finalizer check, as cached. Never throws. */
  syncPersistentVolume(pv: PersistentVolume): Promise<SyncResult>;
  /** One pass of the ListVolumes reconciler; rejects when the pass could not run. */
  reconcile?(): Promise<void>;
  /** The VA left the cache (deleted): drop per-VA memory. */
  forget?(vaName: string): void;
}
