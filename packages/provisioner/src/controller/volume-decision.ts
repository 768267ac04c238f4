// Which PersistentVolumes this provisioner manages and what to do with them, decided from the
// cached PV alone: keep our finalizer in step with the reclaim policy, and delete the backing
// volume once the PV is Released with policy Delete.

import type { PersistentVolume } from '@csi-sidecars-ts/shared';
import { ANN_DELETION_SECRET_NAME, ANN_DELETION_SECRET_NAMESPACE, ANN_MIGRATED_TO, ANN_PROVISIONED_BY, PV_FINALIZER } from './constants.js';

/**
 * Ours when provisioned-by (or migrated-to) names us; for PVs without provisioned-by, when the
 * CSI driver is ours (statically created PVs of our driver are deleted too, per KEP-2644).
 */
export function isOurVolume(pv: PersistentVolume, known: ReadonlySet<string>): boolean {
  const a = pv.metadata?.annotations ?? {};
  const migratedTo = a[ANN_MIGRATED_TO] ?? '';
  if (Object.prototype.hasOwnProperty.call(a, ANN_PROVISIONED_BY)) {
    return known.has(a[ANN_PROVISIONED_BY]!) || known.has(migratedTo);
  }
  const driver = pv.spec?.csi?.driver;
  if (driver !== undefined) return known.has(driver);
  return known.has(migratedTo);
}

/**
 * The finalizer list the PV should have, or undefined when it is right already: ours is added
 * to bound, live PVs with policy Delete and removed from Retain/Recycle PVs.
 */
export function desiredFinalizers(pv: PersistentVolume): string[] | undefined {
  const current = pv.metadata?.finalizers ?? [];
  const policy = pv.spec?.persistentVolumeReclaimPolicy;
  const has = current.includes(PV_FINALIZER);
  if (policy === 'Delete' && !pv.metadata?.deletionTimestamp && pv.status?.phase === 'Bound' && !has) return [...current, PV_FINALIZER];
  if ((policy === 'Retain' || policy === 'Recycle') && has) return current.filter((f) => f !== PV_FINALIZER);
  return undefined;
}

/**
 * Delete the backing volume now? Only Released PVs with policy Delete, and not when a user
 * deletion already went through without our finalizer (someone else finished it).
 */
export function shouldDeleteVolume(pv: PersistentVolume): boolean {
  const hasFinalizer = (pv.metadata?.finalizers ?? []).includes(PV_FINALIZER);
  if (!hasFinalizer && pv.metadata?.deletionTimestamp) return false;
  if (pv.status?.phase !== 'Released') return false;
  return pv.spec?.persistentVolumeReclaimPolicy === 'Delete';
}

export type DeletionSecretSource =
  | { readonly from: 'annotations'; readonly name: string; readonly namespace: string }
  | { readonly from: 'none' }
  /** PVs saved without the annotations (older provisioners): resolve the StorageClass template. */
  | { readonly from: 'storageclass' };

export function deletionSecretSource(pv: PersistentVolume): DeletionSecretSource {
  const a = pv.metadata?.annotations ?? {};
  const hasName = Object.prototype.hasOwnProperty.call(a, ANN_DELETION_SECRET_NAME);
  const hasNs = Object.prototype.hasOwnProperty.call(a, ANN_DELETION_SECRET_NAMESPACE);
  if (!hasName || !hasNs) return { from: 'storageclass' };
  const name = a[ANN_DELETION_SECRET_NAME]!;
  const namespace = a[ANN_DELETION_SECRET_NAMESPACE]!;
  if (name !== '' && namespace !== '') return { from: 'annotations', name, namespace };
  return { from: 'none' };
}
