// Whether a PVC/PV pair is this resizer's to expand: the PV belongs to our driver (or is an
// in-tree volume migrated to it) and is bound to exactly this claim.

import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { ANN_STORAGE_RESIZER, isMigratedCsiDriver } from '../constants.js';
import { requestedSize, statusCapacity } from './pvc-state.js';

export type MatchResult = { ok: true } | { ok: false; reason: string };

/** CanSupport in the Go resizer: PV spec.csi.driver, or the storage-resizer annotation for migrated in-tree PVs. */
export function driverServesVolume(driverName: string, pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult {
  const resizerAnnotation = pvc.metadata?.annotations?.[ANN_STORAGE_RESIZER] ?? '';
  if (isMigratedCsiDriver(driverName) && resizerAnnotation === driverName) return { ok: true };
  const csi = pv.spec?.csi;
  if (!csi) return { ok: false, reason: `PV ${pv.metadata?.name ?? ''} is not a CSI volume` };
  if (csi.driver !== driverName) return { ok: false, reason: `PV ${pv.metadata?.name ?? ''} belongs to CSI driver ${JSON.stringify(csi.driver)}` };
  return { ok: true };
}

/** The PV's claimRef names this PVC's namespace and UID. */
export function volumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult {
  const ref = pv.spec?.claimRef;
  if (!ref) return { ok: false, reason: `PV ${pv.metadata?.name ?? ''} has no claimRef` };
  if (ref.namespace !== pvc.metadata?.namespace || ref.uid !== pvc.metadata?.uid) {
    return { ok: false, reason: `PV ${pv.metadata?.name ?? ''} is bound to ${ref.namespace ?? ''}/${ref.name ?? ''} (uid ${ref.uid ?? ''}), not to this claim` };
  }
  return { ok: true };
}

/** Both checks: what the resize controller requires before it touches a claim. */
export function canExpand(driverName: string, pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult {
  const served = driverServesVolume(driverName, pv, pvc);
  return served.ok ? volumeBoundToClaim(pv, pvc) : served;
}

/** Only Bound claims with a volume whose request exceeds the current capacity need a resize. */
export function claimWantsResize(pvc: PersistentVolumeClaim): boolean {
  if (pvc.status?.phase !== 'Bound') return false;
  if (!pvc.spec?.volumeName) return false;
  return requestedSize(pvc).cmp(statusCapacity(pvc)) > 0;
}
