// The PVC and PV states the modify controller writes (VolumeAttributesClass changes), as pure
// "old object → new object" functions.

import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { Condition, ModifyStatus } from '../constants.js';
import type { PvcCondition } from './pvc-state.js';
import { kubeTime, mergeConditionsByType } from './pvc-state.js';

/** What is known about a failed ControllerModifyVolume, for the status. */
export interface ModifyFailureInfo {
  final: boolean;
  /** Go name of the gRPC code, e.g. 'InvalidArgument'. */
  codeName: string;
  /** The status message the driver gave. */
  details: string;
}

/**
 * Sets status.modifyVolumeStatus.status. Except for Pending it also sets the ModifyingVolume
 * condition, and either the target (success so far: the spec's class) or, after a failure, a
 * ModifyVolumeError condition with the gRPC code and message.
 */
export function markModifyVolumeStatus(
  pvc: PersistentVolumeClaim,
  status: string,
  failure: ModifyFailureInfo | undefined,
  nowMs: number,
): PersistentVolumeClaim {
  const next = structuredClone(pvc);
  next.status ??= {};
  const mvs = { ...(next.status.modifyVolumeStatus ?? { status }) };
  mvs.status = status;
  next.status.modifyVolumeStatus = mvs;
  if (status === ModifyStatus.Pending) return next;

  const now = kubeTime(nowMs);
  const modifying: PvcCondition = { type: Condition.ModifyingVolume, status: 'True', lastProbeTime: now };
  const updates: PvcCondition[] = [modifying];
  if (!failure) {
    const target = pvc.spec?.volumeAttributesClassName ?? '';
    mvs.targetVolumeAttributesClassName = target;
    modifying.message = `Modifying volume to ${JSON.stringify(target)} is in progress.`;
  } else {
    const target = mvs.targetVolumeAttributesClassName ?? '';
    modifying.message = failure.final
      ? `Modifying volume to ${JSON.stringify(target)} failed. Waiting for retry.`
      : `Modifying volume to ${JSON.stringify(target)} is still in progress.`;
    updates.push({ type: Condition.ModifyVolumeError, status: 'True', reason: failure.codeName, message: failure.details, lastProbeTime: now });
  }
  next.status.conditions = mergeConditionsByType(next.status.conditions, updates);
  return next;
}

/** The driver applied `vacName`: the claim reports it as current, modify state and conditions cleared. */
export function markModifyVolumeCompleted(pvc: PersistentVolumeClaim, vacName: string): PersistentVolumeClaim {
  const next = structuredClone(pvc);
  next.status ??= {};
  delete next.status.modifyVolumeStatus;
  next.status.currentVolumeAttributesClassName = vacName;
  next.status.conditions = (next.status.conditions ?? []).filter(
    (c) => c.type !== Condition.ModifyingVolume && c.type !== Condition.ModifyVolumeError,
  );
  if (next.status.conditions.length === 0) delete next.status.conditions;
  return next;
}

/** The user went back to no class before the change started: drop the ModifyingVolume condition. */
export function markModifyRolledBack(pvc: PersistentVolumeClaim): PersistentVolumeClaim {
  const next = structuredClone(pvc);
  if (next.status?.conditions) {
    next.status.conditions = next.status.conditions.filter((c) => c.type !== Condition.ModifyingVolume);
    if (next.status.conditions.length === 0) delete next.status.conditions;
  }
  return next;
}

export function volumeWithAttributesClass(pv: PersistentVolume, vacName: string): PersistentVolume {
  const next = structuredClone(pv);
  next.spec ??= {};
  next.spec.volumeAttributesClassName = vacName;
  return next;
}
