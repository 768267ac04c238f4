import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { modifyUpdateNeedsSync, resizeUpdateNeedsSync } from './triggers.js';

function pvc(over: { rv?: string; request?: string; capacity?: string; status?: string; resizer?: string; labels?: Record<string, string> } = {}): PersistentVolumeClaim {
  return {
    metadata: {
      name: 'c',
      namespace: 'n',
      resourceVersion: over.rv ?? '1',
      labels: over.labels,
      annotations: over.resizer ? { 'volume.kubernetes.io/storage-resizer': over.resizer } : undefined,
    },
    spec: { resources: { requests: { storage: over.request ?? '1Gi' } }, volumeName: 'pv' },
    status: {
      phase: 'Bound',
      capacity: { storage: over.capacity ?? '1Gi' },
      allocatedResourceStatuses: over.status ? { storage: over.status } : undefined,
    },
  };
}

describe('resizeUpdateNeedsSync', () => {
  const recovery = { recoveryEnabled: true };
  const legacy = { recoveryEnabled: false };

  it.each([
    ['request increased', pvc(), pvc({ rv: '2', request: '2Gi' }), recovery, true],
    ['request decreased (recovery)', pvc({ request: '3Gi' }), pvc({ rv: '2', request: '2Gi' }), recovery, true],
    ['request decreased (legacy)', pvc({ request: '3Gi' }), pvc({ rv: '2', request: '2Gi' }), legacy, false],
    ['resize status changed (recovery)', pvc(), pvc({ rv: '2', status: 'NodeResizeInfeasible' }), recovery, true],
    ['resize status changed (legacy)', pvc(), pvc({ rv: '2', status: 'NodeResizeInfeasible' }), legacy, false],
    ['storage-resizer annotation changed', pvc(), pvc({ rv: '2', resizer: 'ebs.csi.aws.com' }), legacy, true],
    ['resync (same resourceVersion)', pvc(), pvc(), legacy, true],
    ['capacity grew (kubelet finished)', pvc(), pvc({ rv: '2', capacity: '2Gi' }), legacy, true],
    ['label change only', pvc(), pvc({ rv: '2', labels: { a: 'b' } }), recovery, false],
  ])('%s → %s', (_name, oldPvc, newPvc, opts, expected) => {
    expect(resizeUpdateNeedsSync(oldPvc, newPvc, opts)).toBe(expected);
  });

  it('enqueues an unparsable object rather than throwing from a handler', () => {
    expect(resizeUpdateNeedsSync(pvc(), pvc({ rv: '2', request: 'bogus' }), recovery)).toBe(true);
  });
});

describe('modifyUpdateNeedsSync', () => {
  const withVac = (vac: string | undefined, mvs?: { status: string }, phase = 'Bound', rv = '1'): PersistentVolumeClaim => ({
    metadata: { name: 'c', namespace: 'n', resourceVersion: rv },
    spec: { volumeName: 'pv', volumeAttributesClassName: vac },
    status: { phase, modifyVolumeStatus: mvs },
  });
  const known = () => true;

  it('enqueues a class change of a bound claim whose PV is known', () => {
    expect(modifyUpdateNeedsSync(withVac('a', { status: 'Pending' }), withVac('b', { status: 'Pending' }, 'Bound', '2'), known)).toBe(true);
  });
  it('enqueues any update while there is no modify status', () => {
    expect(modifyUpdateNeedsSync(withVac('a'), withVac('a', undefined, 'Bound', '2'), known)).toBe(true);
  });
  it('ignores unchanged class with a modify status, unbound claims and unknown PVs', () => {
    expect(modifyUpdateNeedsSync(withVac('a', { status: 'Pending' }), withVac('a', { status: 'Pending' }, 'Bound', '2'), known)).toBe(false);
    expect(modifyUpdateNeedsSync(withVac('a'), withVac('b', undefined, 'Pending'), known)).toBe(false);
    expect(modifyUpdateNeedsSync(withVac('a'), withVac('b'), () => false)).toBe(false);
  });
});
