import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import { buildPersistentVolume, type BuildPvInput } from './persistent-volume.js';

const claim: PersistentVolumeClaim = {
  metadata: { name: 'data', namespace: 'ns', uid: 'uid-1', resourceVersion: '77' },
  spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
};
const sc: StorageClass = { metadata: { name: 'fast' }, provisioner: 'drv', reclaimPolicy: 'Delete', mountOptions: ['noatime'] };

function build(over: Partial<BuildPvInput> = {}) {
  return buildPersistentVolume({
    pvName: 'pvc-uid-1',
    claim,
    storageClass: sc,
    driverName: 'drv',
    identity: 'id-1',
    volume: { volumeId: 'vol-1', capacityBytes: 2n * 1024n ** 3n, volumeContext: { k: 'v' }, accessibleTopology: [{ segments: { zone: 'a' } }] },
    requestedBytes: 1024n ** 3n,
    fsType: 'ext4',
    secrets: {},
    readOnly: false,
    supportsTopology: true,
    ...over,
  });
}

describe('buildPersistentVolume', () => {
  it('writes what the Go provisioner writes', () => {
    expect(build()).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: 'pvc-uid-1',
        annotations: {
          'pv.kubernetes.io/provisioned-by': 'drv',
          'volume.kubernetes.io/provisioner-deletion-secret-name': '',
          'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
        },
        finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'],
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        capacity: { storage: '2Gi' },
        csi: { driver: 'drv', volumeHandle: 'vol-1', volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': 'id-1', k: 'v' }, fsType: 'ext4' },
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'fast',
        claimRef: { kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'data', uid: 'uid-1', apiVersion: 'v1', resourceVersion: '77' },
        mountOptions: ['noatime'],
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } },
      },
    });
  });

  it('uses the requested size when the driver reports 0 and formats sizes like Go', () => {
    expect(build({ volume: { volumeId: 'v', capacityBytes: 0n, volumeContext: {}, accessibleTopology: [] } }).spec?.capacity).toEqual({ storage: '1Gi' });
    expect(build({ volume: { volumeId: 'v', capacityBytes: 1500000000n, volumeContext: {}, accessibleTopology: [] } }).spec?.capacity).toEqual({ storage: '1500000000' });
  });

  it('records secrets, read-only, block mode and the VolumeAttributesClass', () => {
    const pv = build({
      claim: { ...claim, spec: { ...claim.spec, volumeMode: 'Block' } },
      secrets: {
        provisioner: { name: 'p', namespace: 'pns' },
        controllerModify: { name: 'm', namespace: 'mns' },
        nodeStage: { name: 's', namespace: 'sns' },
      },
      readOnly: true,
      supportsTopology: false,
      volumeAttributesClassName: 'gold',
    });
    expect(pv.metadata?.annotations).toMatchObject({
      'volume.kubernetes.io/provisioner-deletion-secret-name': 'p',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': 'pns',
      'volume.kubernetes.io/controller-modify-secret-name': 'm',
      'volume.kubernetes.io/controller-modify-secret-namespace': 'mns',
    });
    expect(pv.spec?.csi).toMatchObject({ readOnly: true, nodeStageSecretRef: { name: 's', namespace: 'sns' } });
    expect(pv.spec?.csi?.fsType).toBeUndefined();
    expect(pv.spec?.volumeMode).toBe('Block');
    expect(pv.spec?.nodeAffinity).toBeUndefined();
    expect(pv.spec?.volumeAttributesClassName).toBe('gold');
  });

  it('puts the finalizer only on volumes that will be deleted', () => {
    expect(build({ storageClass: { ...sc, reclaimPolicy: 'Retain' } }).metadata?.finalizers).toBeUndefined();
  });
});
