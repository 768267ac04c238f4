// Which PVC updates put a claim on a controller's queue. Other updates (labels, unrelated
// annotations, our own bookkeeping writes) are ignored so that writes do not feed back into work.

import type { PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { ANN_STORAGE_RESIZER, STORAGE } from '../constants.js';
import { requestedSize, statusCapacity } from './pvc-state.js';

export interface ResizeTriggerOptions {
  /** RecoverVolumeExpansionFailure: shrinking the request and resize-status changes also count. */
  recoveryEnabled: boolean;
}

/** Resize controller, PVC update (rule 2). Never throws: a malformed object is enqueued and judged by the worker. */
export function resizeUpdateNeedsSync(oldPvc: PersistentVolumeClaim, newPvc: PersistentVolumeClaim, opts: ResizeTriggerOptions): boolean {
  try {
    const oldReq = requestedSize(oldPvc);
    const newReq = requestedSize(newPvc);
    const requestChanged = opts.recoveryEnabled ? newReq.cmp(oldReq) !== 0 : newReq.cmp(oldReq) > 0;
    const oldResizer = oldPvc.metadata?.annotations?.[ANN_STORAGE_RESIZER] ?? '';
    const newResizer = newPvc.metadata?.annotations?.[ANN_STORAGE_RESIZER] ?? '';
    if (requestChanged || oldResizer !== newResizer) return true;
    // A resync delivers the object unchanged.
    if (oldPvc.metadata?.resourceVersion === newPvc.metadata?.resourceVersion) return true;
    // kubelet finished the node step: the pre-resize-capacity annotation may go.
    if (statusCapacity(newPvc).cmp(statusCapacity(oldPvc)) > 0) return true;
    if (opts.recoveryEnabled) {
      const oldStatus = oldPvc.status?.allocatedResourceStatuses?.[STORAGE] ?? '';
      const newStatus = newPvc.status?.allocatedResourceStatuses?.[STORAGE] ?? '';
      if (oldStatus !== newStatus) return true;
    }
    return false;
  } catch {
    return true;
  }
}

/**
 * Modify controller, PVC update (§3.4 rule 2): a Bound claim whose VolumeAttributesClass changed
 * or that has no modify status yet, and whose PV is known.
 */
export function modifyUpdateNeedsSync(oldPvc: PersistentVolumeClaim, newPvc: PersistentVolumeClaim, pvKnown: (name: string) => boolean): boolean {
  if (newPvc.status?.phase !== 'Bound') return false;
  const oldVac = oldPvc.spec?.volumeAttributesClassName ?? '';
  const newVac = newPvc.spec?.volumeAttributesClassName ?? '';
  if (oldVac === newVac && newPvc.status?.modifyVolumeStatus) return false;
  const volumeName = newPvc.spec?.volumeName ?? oldPvc.spec?.volumeName ?? '';
  return volumeName !== '' && pvKnown(volumeName);
}
