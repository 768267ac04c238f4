// Reading the resize-relevant parts of PVCs and PVs, and merging their condition lists the way
// external-resizer does. Pure functions over cached objects.

import { parseQuantity, Quantity } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { Condition, RESIZE_CONDITIONS, STORAGE } from '../constants.js';

export type PvcCondition = NonNullable<NonNullable<PersistentVolumeClaim['status']>['conditions']>[number];

const ZERO = Quantity.zero('BinarySI');

function quantityField(value: string | undefined, what: string): Quantity | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return parseQuantity(value);
  } catch (err) {
    throw new Error(`${what} ${JSON.stringify(value)} is not a valid quantity: ${(err as Error).message}`, { cause: err });
  }
}

function claimName(pvc: PersistentVolumeClaim): string {
  return `${pvc.metadata?.namespace ?? ''}/${pvc.metadata?.name ?? ''}`;
}

/** spec.resources.requests.storage; zero when unset (as a missing map entry reads in Go). */
export function requestedSize(pvc: PersistentVolumeClaim): Quantity {
  return quantityField(pvc.spec?.resources?.requests?.[STORAGE], `PVC ${claimName(pvc)} spec.resources.requests.storage`) ?? ZERO;
}

/** status.capacity.storage; zero when unset. */
export function statusCapacity(pvc: PersistentVolumeClaim): Quantity {
  return quantityField(pvc.status?.capacity?.[STORAGE], `PVC ${claimName(pvc)} status.capacity.storage`) ?? ZERO;
}

/** status.allocatedResources.storage, or undefined when the apiserver/kcm has not set it. */
export function allocatedSize(pvc: PersistentVolumeClaim): Quantity | undefined {
  return quantityField(pvc.status?.allocatedResources?.[STORAGE], `PVC ${claimName(pvc)} status.allocatedResources.storage`);
}

/** status.allocatedResourceStatuses.storage; '' when unset. */
export function resizeStatusOf(pvc: PersistentVolumeClaim): string {
  return pvc.status?.allocatedResourceStatuses?.[STORAGE] ?? '';
}

/** spec.capacity.storage of a PV; zero when unset. */
export function volumeCapacity(pv: PersistentVolume): Quantity {
  return quantityField(pv.spec?.capacity?.[STORAGE], `PV ${pv.metadata?.name ?? ''} spec.capacity.storage`) ?? ZERO;
}

export function hasAnnotation(obj: { metadata?: { annotations?: Record<string, string> } }, key: string): boolean {
  return obj.metadata?.annotations !== undefined && Object.prototype.hasOwnProperty.call(obj.metadata.annotations, key);
}

export function hasFileSystemResizePending(pvc: PersistentVolumeClaim): boolean {
  return (pvc.status?.conditions ?? []).some((c) => c.type === Condition.FileSystemResizePending && c.status === 'True');
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The resizer's merge of condition lists: non-resize conditions are kept as they are; a resize
 * condition present in `updates` replaces the old one in place; other old resize conditions are
 * kept only with `keepOldResizeConditions`; new ones are appended.
 */
export function mergeResizeConditions(
  old: readonly PvcCondition[] | undefined,
  updates: readonly PvcCondition[],
  keepOldResizeConditions: boolean,
): PvcCondition[] {
  const pending = new Map(updates.map((c) => [c.type, c] as const));
  const out: PvcCondition[] = [];
  for (const c of old ?? []) {
    if (!RESIZE_CONDITIONS.has(c.type)) {
      out.push(c);
      continue;
    }
    const replacement = pending.get(c.type);
    if (replacement) {
      out.push(replacement);
      pending.delete(c.type);
    } else if (keepOldResizeConditions) {
      out.push(c);
    }
  }
  for (const c of updates) if (pending.has(c.type)) out.push(c);
  return out;
}

/**
 * The modify controller's merge: conditions in `updates` replace those of the same type;
 * lastTransitionTime moves to the update's lastProbeTime only when status or reason changed.
 */
export function mergeConditionsByType(old: readonly PvcCondition[] | undefined, updates: readonly PvcCondition[]): PvcCondition[] {
  const byType = new Map(updates.map((c) => [c.type, c] as const));
  const out: PvcCondition[] = [];
  for (const o of old ?? []) {
    const u = byType.get(o.type);
    if (!u) {
      out.push(o);
      continue;
    }
    const changed = u.reason !== o.reason || u.status !== o.status;
    out.push(withTransition(u, changed ? u.lastProbeTime : o.lastTransitionTime));
    byType.delete(o.type);
  }
  for (const u of updates) if (byType.has(u.type)) out.push(withTransition(u, u.lastProbeTime));
  return out;
}

function withTransition(c: PvcCondition, at: string | undefined): PvcCondition {
  const out: PvcCondition = { ...c };
  if (at === undefined) delete out.lastTransitionTime;
  else out.lastTransitionTime = at;
  return out;
}
