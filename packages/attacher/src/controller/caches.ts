// The informer caches the attacher reads, with the index that turns "is any VA still using
// this PV?" into a map lookup (Go lists every VA for each PV event).

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
 * Cache transform: drops metadata.managedFields, which nothing in the attacher reads and which
 * is often the largest part of an object. Module-level so a shared informer sees the same one.
 */
export function dropManagedFields<T extends KubeObject>(obj: KubeObject): T {
  const meta = obj.metadata;
  if (!meta || meta.managedFields === undefined) return obj as T;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest } as T;
}
