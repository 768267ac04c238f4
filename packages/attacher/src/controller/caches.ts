// The informer caches the attacher reads, with the index that turns "is any VA still using
// this PV?" into a map lookup (Go lists every VA for each PV event).

import { dropBookkeeping, dropBookkeepingAndStatus, dropManagedFields as sharedDropManagedFields } from '@csi-sidecars-ts/shared';
import type { CSINode, KubeObject, PersistentVolume, Store, VolumeAttachment } from '@csi-sidecars-ts/shared';

export const VA_BY_PV_INDEX = 'attacher.byPersistentVolume';

/** Index function: the PV a VolumeAttachment references by name. Module-level so it is shared. */
export function vaByPvIndex(va: VolumeAttachment): string[] {
  const pv = va.spec?.source?.persistentVolumeName;
  return pv ? [pv] : [];
}

export interface AttacherCaches {
  readonly volumeAttachments: Store<VolumeAttachment>;
  readonly persistentVolumes: Store<PersistentVolume>;
  readonly csiNodes: Store<CSINode>;
}

/**
 * Cache transforms (the generic part lives in shared/kube/cache-transform.ts). The attacher writes
 * VolumeAttachments, PersistentVolumes and nothing else, and only through patches computed from
 * the cached object (finalizers as JSON patches with a test, metadata and status as merge
 * patches), so dropping kubectl's last-applied annotation loses nothing on the server. It reads
 * no PersistentVolume status. Module-level so a shared informer sees the same transform.
 */
export const dropManagedFields: <T extends KubeObject>(obj: KubeObject) => T = sharedDropManagedFields;
export const trimVolumeAttachment: <T extends KubeObject>(obj: KubeObject) => T = dropBookkeeping;
export const trimPersistentVolume: <T extends KubeObject>(obj: KubeObject) => T = dropBookkeepingAndStatus;
export const trimCsiNode: <T extends KubeObject>(obj: KubeObject) => T = dropBookkeeping;
