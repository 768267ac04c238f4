import { describe, expect, it } from '@jest/globals';
import type { PvcCondition } from './pvc-state.js';
import { allocatedSize, kubeTime, mergeConditionsByType, mergeResizeConditions, requestedSize, resizeStatusOf, statusCapacity } from './pvc-state.js';

const c = (type: string, extra: Partial<PvcCondition> = {}): PvcCondition => ({ type, status: 'True', ...extra });

describe('mergeResizeConditions', () => {
  const old = [c('Resizing', { message: 'old' }), c('Custom'), c('ControllerResizeError'), c('FileSystemResizePending')];

  it('replaces a resize condition in place and drops the other resize conditions', () => {
    const out = mergeResizeConditions(old, [c('Resizing', { message: 'new' })], false);
    expect(out).toEqual([c('Resizing', { message: 'new' }), c('Custom')]);
  });

  it('keeps the other resize conditions when asked to', () => {
    const out = mergeResizeConditions(old, [c('Resizing', { message: 'new' })], true);
    expect(out.map((x) => x.type)).toEqual(['Resizing', 'Custom', 'ControllerResizeError', 'FileSystemResizePending']);
    expect(out[0]!.message).toBe('new');
  });

  it('appends new resize conditions and never touches foreign ones', () => {
    expect(mergeResizeConditions([c('Custom')], [c('NodeResizeError')], false)).toEqual([c('Custom'), c('NodeResizeError')]);
    expect(mergeResizeConditions(undefined, [], false)).toEqual([]);
  });
});

describe('mergeConditionsByType', () => {
  it('moves lastTransitionTime to the probe time only when status or reason changes', () => {
    const old = [
      c('ModifyingVolume', { lastTransitionTime: 't0', lastProbeTime: 't0' }),
      c('ModifyVolumeError', { reason: 'Internal', lastTransitionTime: 't0' }),
      c('Other'),
    ];
    const out = mergeConditionsByType(old, [
      c('ModifyingVolume', { lastProbeTime: 't1', message: 'm' }),
      c('ModifyVolumeError', { reason: 'InvalidArgument', lastProbeTime: 't1' }),
      c('Brand', { lastProbeTime: 't1' }),
    ]);
    expect(out).toEqual([
      c('ModifyingVolume', { lastProbeTime: 't1', message: 'm', lastTransitionTime: 't0' }),
      c('ModifyVolumeError', { reason: 'InvalidArgument', lastProbeTime: 't1', lastTransitionTime: 't1' }),
      c('Other'),
      c('Brand', { lastProbeTime: 't1', lastTransitionTime: 't1' }),
    ]);
  });
});

describe('accessors', () => {
  it('reads sizes and status with Go defaults for missing fields', () => {
    const pvc = { metadata: { name: 'a', namespace: 'n' }, spec: {}, status: {} };
    expect(requestedSize(pvc).isZero()).toBe(true);
    expect(statusCapacity(pvc).isZero()).toBe(true);
    expect(allocatedSize(pvc)).toBeUndefined();
    expect(resizeStatusOf(pvc)).toBe('');
  });

  it('names the field in a parse error', () => {
    const pvc = { metadata: { name: 'a', namespace: 'n' }, spec: { resources: { requests: { storage: 'lots' } } } };
    expect(() => requestedSize(pvc)).toThrow(/PVC n\/a spec.resources.requests.storage "lots"/);
  });

  it('formats times like metav1.Time', () => {
    expect(kubeTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05Z');
  });
});
