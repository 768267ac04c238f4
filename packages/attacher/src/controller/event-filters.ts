// Which informer events deserve a trip through the work queues. Pure functions over cached
// objects; the controller calls them from its event handlers.

import type { PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { jsonEqual } from '../util/json-equal.js';
import type { MigrationTranslator } from '@csi-sidecars-ts/shared';
import { MIGRATED_TO_ANNOTATION, VA_NODE_ID_ANNOTATION, attacherFinalizer } from './names.js';

/**
 * Whether a VolumeAttachment update should be queued. An update that only carries our own
 * writes coming back through the watch is dropped:
 *   - status.attachError / status.detachError: queueing the error we just saved would retry at
 *     once and defeat the exponential backoff (the Go attacher filters these too);
 *   - with `ownFinalizer`, also our finalizer and the node-id annotation: written half-way
 *     through an attach, they would otherwise queue the VA again while it is being attached,
 *     and a second ControllerPublish would run before the status write reaches the cache.
 * resourceVersion and managedFields never count. A resync (same resourceVersion) is always queued.
 */
export function shouldEnqueueVaUpdate(oldVa: VolumeAttachment, newVa: VolumeAttachment, ownFinalizer?: string): boolean {
  if (oldVa.metadata?.resourceVersion === newVa.metadata?.resourceVersion) return true;
  return !jsonEqual(comparable(oldVa, ownFinalizer), comparable(newVa, ownFinalizer));
}

/** The VA without the parts our own writes change. */
function comparable(va: VolumeAttachment, ownFinalizer: string | undefined): unknown {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = va.metadata ?? {};
  const { attachError: _ae, detachError: _de, ...status } = va.status ?? { attached: false };
  const out: Record<string, unknown> = { ...va, metadata, status: { ...status, attached: status.attached ?? false } };
  if (ownFinalizer !== undefined) {
    const finalizers = metadata.finalizers?.filter((f) => f !== ownFinalizer);
    if (finalizers?.length) metadata.finalizers = finalizers;
    else delete metadata.finalizers;
    if (metadata.annotations && VA_NODE_ID_ANNOTATION in metadata.annotations) {
      const { [VA_NODE_ID_ANNOTATION]: _id, ...annotations } = metadata.annotations;
      if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
      else delete metadata.annotations;
    }
  }
  return out;
}

/**
 * Whether a PV event should be queued for the finalizer check: only PVs that carry our
 * finalizer and either are being deleted, or are in-tree PVs no longer migrated to us (a
 * CSI-migration rollback hands the PV back to kube-controller-manager).
 */
export function shouldEnqueuePv(pv: PersistentVolume, driver: string, translator: MigrationTranslator): boolean {
  if (!pv.metadata?.finalizers?.includes(attacherFinalizer(driver))) return false;
  if (pv.metadata.deletionTimestamp) return true;
  return isMigrationRollback(pv, driver, translator);
}

/** An in-tree PV our finalizer is on although it is not (or no longer) migrated to our driver. */
export function isMigrationRollback(pv: PersistentVolume, driver: string, translator: MigrationTranslator): boolean {
  if (!translator.isPvMigratable(pv)) return false;
  return pv.metadata?.annotations?.[MIGRATED_TO_ANNOTATION] !== driver;
}
