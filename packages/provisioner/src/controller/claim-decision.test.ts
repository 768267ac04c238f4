import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import { claimStorageClassName, decideClaim, selectedNodeOf } from './claim-decision.js';

const DRIVER = 'drv.example.com';
const classes: Record<string, StorageClass> = {
  fast: { metadata: { name: 'fast' }, provisioner: DRIVER, volumeBindingMode: 'Immediate' },
  late: { metadata: { name: 'late' }, provisioner: DRIVER, volumeBindingMode: 'WaitForFirstConsumer' },
  foreign: { metadata: { name: 'foreign' }, provisioner: 'other.example.com' },
};

function claim(annotations: Record<string, string>, spec: PersistentVolumeClaim['spec'] = {}): PersistentVolumeClaim {
  return { metadata: { name: 'c', namespace: 'ns', uid: 'u', annotations }, spec: { storageClassName: 'fast', ...spec } };
}

const decide = (c: PersistentVolumeClaim) => decideClaim({ claim: c, driverName: DRIVER, knownProvisioners: new Set([DRIVER]), storageClass: (n) => classes[n] });

describe('decideClaim', () => {
  it('provisions claims annotated for us by either key', () => {
    expect(decide(claim({ 'volume.kubernetes.io/storage-provisioner': DRIVER }))).toMatchObject({ action: 'provision', selectedNode: '' });
    expect(decide(claim({ 'volume.beta.kubernetes.io/storage-provisioner': DRIVER }))).toMatchObject({ action: 'provision' });
  });

  it('skips claims of others, bound claims and unannotated ones', () => {
    expect(decide(claim({ 'volume.kubernetes.io/storage-provisioner': 'other' })).action).toBe('skip');
    expect(decide(claim({ 'volume.kubernetes.io/storage-provisioner': DRIVER }, { volumeName: 'pv-1' })).action).toBe('skip');
    expect(decide(claim({})).action).toBe('skip');
    // migrated-to alone is not enough: kube-controller-manager also sets the provisioner annotation.
    expect(decide(claim({ 'pv.kubernetes.io/migrated-to': DRIVER })).action).toBe('skip');
  });

  it('waits for a selected node with WaitForFirstConsumer', () => {
    const ann = { 'volume.kubernetes.io/storage-provisioner': DRIVER };
    expect(decide(claim(ann, { storageClassName: 'late' })).action).toBe('skip');
    expect(decide(claim({ ...ann, 'volume.kubernetes.io/selected-node': 'n1' }, { storageClassName: 'late' }))).toMatchObject({ action: 'provision', selectedNode: 'n1' });
  });

  it('retries while the StorageClass is missing and ignores a StorageClass of another provisioner', () => {
    const ann = { 'volume.kubernetes.io/storage-provisioner': DRIVER };
    expect(decide(claim(ann, { storageClassName: 'nope' }))).toEqual({ action: 'retry', reason: 'storageClass "nope" not found' });
    expect(decide(claim(ann, { storageClassName: 'foreign' })).action).toBe('skip');
  });

  it('reads the class and the selected node like Kubernetes', () => {
    expect(claimStorageClassName(claim({ 'volume.beta.kubernetes.io/storage-class': 'beta' }))).toBe('beta');
    expect(claimStorageClassName({ spec: {} })).toBe('');
    expect(selectedNodeOf(claim({ 'volume.alpha.kubernetes.io/selected-node': 'old' }))).toBe('old');
  });
});
