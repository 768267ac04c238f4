// The PVC and PV states the resize controller writes, as pure "old object → new object"
// functions. The API adapter turns old/new into a merge patch, so only what changed is sent.

import type { PersistentVolume, PersistentVolumeClaim, Quantity } from '@csi-sidecars-ts/shared';
import {
  ANN_NODE_EXPANSION_NOT_REQUIRED,
  ANN_PRE_RESIZE_CAPACITY,
  Condition,
  FS_RESIZE_PENDING_MESSAGE,
  ResizeStatus,
  STORAGE,
} from '../constants.js';
import type { PvcCondition } from './pvc-state.js';
import { hasAnnotation, kubeTime, mergeResizeConditions } from './pvc-state.js';

type Status = NonNullable<PersistentVolumeClaim['status']>;

function copy<T>(obj: T): T {
  return structuredClone(obj);
}

function statusOf(pvc: PersistentVolumeClaim): Status {
  pvc.status ??= {};
  return pvc.status;
}

function condition(type: string, nowMs: number, message?: string): PvcCondition {
  const c: PvcCondition = { type, status: 'True', lastTransitionTime: kubeTime(nowMs) };
  if (message !== undefined) c.message = message;
  return c;
}

function setResizeStatus(pvc: PersistentVolumeClaim, value: string): void {
  const s = statusOf(pvc);
  s.allocatedResourceStatuses = { ...s.allocatedResourceStatuses, [STORAGE]: value };
}

function removeAnnotation(pvc: PersistentVolumeClaim, key: string): void {
  if (!hasAnnotation(pvc, key)) return;
  const annotations = { ...pvc.metadata!.annotations };
  delete annotations[key];
  pvc.metadata!.annotations = annotations;
}

/**
 * Before the controller call: a fresh `Resizing` condition, the node-expansion-not-required
 * annotation removed, allocatedResources = target and (unless the status is unchanged)
 * `ControllerResizeInProgress`. When the status is unchanged the other resize conditions stay.
 */
export function markControllerResizeInProgress(pvc: PersistentVolumeClaim, target: Quantity, statusUnchanged: boolean, nowMs: number): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.conditions = mergeResizeConditions(s.conditions, [condition(Condition.Resizing, nowMs)], statusUnchanged);
  removeAnnotation(next, ANN_NODE_EXPANSION_NOT_REQUIRED);
  if (!statusUnchanged) setResizeStatus(next, ResizeStatus.ControllerResizeInProgress);
  s.allocatedResources = { ...s.allocatedResources, [STORAGE]: target.toString() };
  return next;
}

/** The controller step is done; kubelet must still expand the file system. */
export function markNodeExpansionPending(pvc: PersistentVolumeClaim, nowMs: number): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.conditions = mergeResizeConditions(s.conditions, [condition(Condition.FileSystemResizePending, nowMs, FS_RESIZE_PENDING_MESSAGE)], true);
  removeAnnotation(next, ANN_NODE_EXPANSION_NOT_REQUIRED);
  setResizeStatus(next, ResizeStatus.NodeResizePending);
  return next;
}

/** An infeasible failure (InvalidArgument, OutOfRange, NotFound): the user has to change the request. */
export function markControllerResizeInfeasible(pvc: PersistentVolumeClaim, error: string, nowMs: number): PersistentVolumeClaim {
  const next = markControllerResizeFailed(pvc, error, nowMs);
  setResizeStatus(next, ResizeStatus.ControllerResizeInfeasible);
  return next;
}

/** Any other final failure: only the error condition; the status stays ControllerResizeInProgress. */
export function markControllerResizeFailed(pvc: PersistentVolumeClaim, error: string, nowMs: number): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.conditions = mergeResizeConditions(s.conditions, [condition(Condition.ControllerResizeError, nowMs, `failed to expand pvc with ${error}`)], true);
  return next;
}

/** Fully expanded without a node step: capacity set, resize state cleared, kubelet told to skip. */
export function markResizeFinished(pvc: PersistentVolumeClaim, newSize: Quantity): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.capacity = { ...s.capacity, [STORAGE]: newSize.toString() };
  s.conditions = mergeResizeConditions(pvc.status?.conditions, [], false);
  if (s.allocatedResourceStatuses) {
    const rest = { ...s.allocatedResourceStatuses };
    delete rest[STORAGE];
    if (Object.keys(rest).length === 0) delete s.allocatedResourceStatuses;
    else s.allocatedResourceStatuses = rest;
  }
  next.metadata ??= {};
  if (!hasAnnotation(next, ANN_NODE_EXPANSION_NOT_REQUIRED)) {
    next.metadata.annotations = { ...next.metadata.annotations, [ANN_NODE_EXPANSION_NOT_REQUIRED]: 'true' };
  }
  return next;
}

// ---- legacy path (RecoverVolumeExpansionFailure off): conditions only ----

export function markLegacyResizeInProgress(pvc: PersistentVolumeClaim, nowMs: number): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.conditions = mergeResizeConditions(s.conditions, [condition(Condition.Resizing, nowMs)], false);
  return next;
}

export function markLegacyFsResizeRequired(pvc: PersistentVolumeClaim, nowMs: number): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.conditions = mergeResizeConditions(s.conditions, [condition(Condition.FileSystemResizePending, nowMs, FS_RESIZE_PENDING_MESSAGE)], false);
  return next;
}

export function markLegacyResizeFinished(pvc: PersistentVolumeClaim, newSize: Quantity): PersistentVolumeClaim {
  const next = copy(pvc);
  const s = statusOf(next);
  s.capacity = { ...s.capacity, [STORAGE]: newSize.toString() };
  s.conditions = mergeResizeConditions(pvc.status?.conditions, [], false);
  return next;
}

// ---- PV ----

/**
 * The PV after a successful controller expansion: the new capacity and, when kubelet still has
 * work and AnnotateFsResize is on, the PVC's old capacity in the pre-resize annotation (kept if
 * already there, so it records the size before the first of several expansions).
 */
export function volumeWithCapacity(pv: PersistentVolume, newSize: Quantity, preResizeCapacity: Quantity | undefined): PersistentVolume {
  const next = copy(pv);
  next.spec ??= {};
  next.spec.capacity = { ...next.spec.capacity, [STORAGE]: newSize.toString() };
  if (preResizeCapacity !== undefined && !hasAnnotation(pv, ANN_PRE_RESIZE_CAPACITY)) {
    next.metadata ??= {};
    next.metadata.annotations = { ...next.metadata.annotations, [ANN_PRE_RESIZE_CAPACITY]: preResizeCapacity.toString() };
  }
  return next;
}

export function volumeWithoutPreResizeAnnotation(pv: PersistentVolume): PersistentVolume {
  const next = copy(pv);
  if (hasAnnotation(next, ANN_PRE_RESIZE_CAPACITY)) {
    const annotations = { ...next.metadata!.annotations };
    delete annotations[ANN_PRE_RESIZE_CAPACITY];
    next.metadata!.annotations = annotations;
  }
  return next;
}
