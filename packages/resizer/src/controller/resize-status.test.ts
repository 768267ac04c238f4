import { describe, expect, it } from '@jest/globals';
import { createMergePatch } from '@csi-sidecars-ts/shared';
import { boundPair, q } from '../testing/fakes.js';
import {
  markControllerResizeFailed,
  markControllerResizeInfeasible,
  markControllerResizeInProgress,
  markNodeExpansionPending,
  markResizeFinished,
  volumeWithCapacity,
  volumeWithoutPreResizeAnnotation,
} from './resize-status.js';

const NOW = Date.UTC(2025, 4, 6, 7, 8, 9);
const T = '2025-05-06T07:08:09Z';

function claim() {
  const { pvc, pv } = boundPair({ request: '2Gi', capacity: '1Gi' });
  pvc.metadata!.annotations = { 'volume.kubernetes.io/node-expansion-not-required': 'true', keep: 'me' };
  pvc.status!.conditions = [
    { type: 'ControllerResizeError', status: 'True', message: 'old failure' },
    { type: 'Foreign', status: 'True' },
  ];
  return { pvc, pv };
}

describe('PVC status transitions', () => {
  it('in progress: Resizing replaces other resize conditions, annotation removed, status + allocation set', () => {
    const { pvc } = claim();
    const next = markControllerResizeInProgress(pvc, q('2Gi'), false, NOW);
    expect(createMergePatch(pvc, next)).toEqual({
      metadata: { annotations: { 'volume.kubernetes.io/node-expansion-not-required': null } },
      status: {
        conditions: [{ type: 'Foreign', status: 'True' }, { type: 'Resizing', status: 'True', lastTransitionTime: T }],
        allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
        allocatedResources: { storage: '2Gi' },
      },
    });
    expect(pvc.status!.conditions).toHaveLength(2); // input untouched
  });

  it('in progress with unchanged status keeps the old resize conditions and the status value', () => {
    const { pvc } = claim();
    pvc.status!.allocatedResourceStatuses = { storage: 'ControllerResizeInfeasible' };
    pvc.status!.allocatedResources = { storage: '2Gi' };
    const next = markControllerResizeInProgress(pvc, q('2Gi'), true, NOW);
    expect(next.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInfeasible' });
    expect(next.status!.conditions!.map((c) => c.type)).toEqual(['ControllerResizeError', 'Foreign', 'Resizing']);
  });

  it('node expansion pending: FileSystemResizePending with the Go message, status NodeResizePending', () => {
    const { pvc } = claim();
    const next = markNodeExpansionPending(pvc, NOW);
    expect(next.status!.allocatedResourceStatuses).toEqual({ storage: 'NodeResizePending' });
    expect(next.status!.conditions).toContainEqual({
      type: 'FileSystemResizePending',
      status: 'True',
      lastTransitionTime: T,
      message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
    });
    expect(next.metadata!.annotations).toEqual({ keep: 'me' });
  });

  it('infeasible: ControllerResizeError with "failed to expand pvc with <err>", status ControllerResizeInfeasible', () => {
    const { pvc } = claim();
    const next = markControllerResizeInfeasible(pvc, 'rpc error: code = OutOfRange desc = too big', NOW);
    expect(next.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInfeasible' });
    expect(next.status!.conditions![0]).toEqual({
      type: 'ControllerResizeError',
      status: 'True',
      lastTransitionTime: T,
      message: 'failed to expand pvc with rpc error: code = OutOfRange desc = too big',
    });
  });

  it('other final failure: only the condition', () => {
    const { pvc } = claim();
    pvc.status!.allocatedResourceStatuses = { storage: 'ControllerResizeInProgress' };
    const next = markControllerResizeFailed(pvc, 'boom', NOW);
    expect(next.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(next.status!.conditions![0]!.message).toBe('failed to expand pvc with boom');
  });

  it('finished: capacity, resize conditions and storage status gone, node-expansion-not-required added', () => {
    const { pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    pvc.status!.allocatedResourceStatuses = { storage: 'ControllerResizeInProgress' };
    pvc.status!.conditions = [{ type: 'Resizing', status: 'True' }, { type: 'Foreign', status: 'True' }];
    const next = markResizeFinished(pvc, q('2Gi'));
    expect(createMergePatch(pvc, next)).toEqual({
      metadata: { annotations: { 'volume.kubernetes.io/node-expansion-not-required': 'true' } },
      status: { capacity: { storage: '2Gi' }, conditions: [{ type: 'Foreign', status: 'True' }], allocatedResourceStatuses: null },
    });
  });

  it('finished keeps other resources in allocatedResourceStatuses', () => {
    const { pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    pvc.status!.allocatedResourceStatuses = { storage: 'ControllerResizeInProgress', 'example.com/x': 'ControllerResizeInProgress' };
    expect(markResizeFinished(pvc, q('2Gi')).status!.allocatedResourceStatuses).toEqual({ 'example.com/x': 'ControllerResizeInProgress' });
  });
});

describe('PV transitions', () => {
  it('sets the capacity from the driver answer, and the pre-resize annotation only once', () => {
    const { pv } = boundPair({ request: '2Gi', capacity: '1Gi' });
    const next = volumeWithCapacity(pv, q('2Gi'), q('1Gi'));
    expect(createMergePatch(pv, next)).toEqual({
      metadata: { annotations: { 'volume.alpha.kubernetes.io/pre-resize-capacity': '1Gi' } },
      spec: { capacity: { storage: '2Gi' } },
    });
    const again = volumeWithCapacity(next, q('3Gi'), q('2Gi'));
    expect(again.metadata!.annotations).toEqual({ 'volume.alpha.kubernetes.io/pre-resize-capacity': '1Gi' });
    expect(volumeWithCapacity(pv, q('2Gi'), undefined).metadata!.annotations).toBeUndefined();
  });

  it('removes the pre-resize annotation', () => {
    const { pv } = boundPair({ request: '2Gi', capacity: '1Gi' });
    pv.metadata!.annotations = { 'volume.alpha.kubernetes.io/pre-resize-capacity': '1Gi', other: 'x' };
    expect(createMergePatch(pv, volumeWithoutPreResizeAnnotation(pv))).toEqual({
      metadata: { annotations: { 'volume.alpha.kubernetes.io/pre-resize-capacity': null } },
    });
  });
});
