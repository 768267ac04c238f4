import { describe, expect, it } from '@jest/globals';
import type { PersistentVolume } from '../api/types.js';
import { createMigrationTranslator, MigrationError } from './translator.js';

const t = createMigrationTranslator();
const pv = (spec: NonNullable<PersistentVolume['spec']>, meta: NonNullable<PersistentVolume['metadata']> = {}): PersistentVolume => ({
  metadata: { name: 'pv-1', ...meta },
  spec: { accessModes: ['ReadWriteOnce'], ...spec },
});

describe('migration translator', () => {
  it('recognises in-tree PVs and leaves CSI PVs alone', () => {
    expect(t.isPvMigratable(pv({ awsElasticBlockStore: { volumeID: 'vol-1' } }))).toBe(true);
    expect(t.isPvMigratable(pv({ csi: { driver: 'x', volumeHandle: 'h' } }))).toBe(false);
    expect(t.isPvMigratable(pv({ hostPath: { path: '/x' } }))).toBe(false);
    expect(t.isMigratedCsiDriver('ebs.csi.aws.com')).toBe(true);
    expect(t.isMigratedCsiDriver('io.kubernetes.storage.mock')).toBe(false);
  });

  it.each([
    ['aws://us-east-1a/vol-0abc', 'vol-0abc'],
    ['aws:///vol-0abc', 'vol-0abc'],
    ['vol-0abc', 'vol-0abc'],
  ])('translates AWS EBS volume ID %s', (id, handle) => {
    const out = t.translateInTreePvToCsi(pv({ awsElasticBlockStore: { volumeID: id, fsType: 'ext4', readOnly: true, partition: 2 } }));
    expect(out.spec?.awsElasticBlockStore).toBeUndefined();
    expect(out.spec?.csi).toEqual({ driver: 'ebs.csi.aws.com', volumeHandle: handle, readOnly: true, fsType: 'ext4', volumeAttributes: { partition: '2' } });
  });

  it('rejects a malformed AWS volume URL', () => {
    expect(() => t.translateInTreePvToCsi(pv({ awsElasticBlockStore: { volumeID: 'aws://zone/not-a-volume' } }))).toThrow(MigrationError);
  });

  it('translates GCE PD with zone labels, normalising access modes, and repairs the handle', () => {
    const zonal = t.translateInTreePvToCsi(
      pv({ gcePersistentDisk: { pdName: 'disk-1' }, accessModes: ['ReadWriteMany'] }, { labels: { 'topology.kubernetes.io/zone': 'us-central1-a' } }),
    );
    expect(zonal.spec?.csi?.volumeHandle).toBe('projects/UNSPECIFIED/zones/us-central1-a/disks/disk-1');
    expect(zonal.spec?.accessModes).toEqual(['ReadWriteOnce']);
    const regional = t.translateInTreePvToCsi(
      pv({ gcePersistentDisk: { pdName: 'disk-2' } }, { labels: { 'failure-domain.beta.kubernetes.io/zone': 'us-central1-a__us-central1-b' } }),
    );
    expect(regional.spec?.csi?.volumeHandle).toBe('projects/UNSPECIFIED/regions/us-central1/disks/disk-2');
    const none = t.translateInTreePvToCsi(pv({ gcePersistentDisk: { pdName: 'disk-3' } }));
    expect(none.spec?.csi?.volumeHandle).toBe('projects/UNSPECIFIED/zones/UNSPECIFIED/disks/disk-3');

    const node = 'projects/proj/zones/us-central1-c/instances/vm-1';
    expect(t.repairVolumeHandle('pd.csi.storage.gke.io', 'projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d', node)).toBe('projects/proj/zones/us-central1-c/disks/d');
    expect(t.repairVolumeHandle('pd.csi.storage.gke.io', 'projects/UNSPECIFIED/regions/UNSPECIFIED/disks/d', node)).toBe('projects/proj/regions/us-central1/disks/d');
    expect(t.repairVolumeHandle('pd.csi.storage.gke.io', 'projects/p2/zones/z/disks/d', node)).toBe('projects/p2/zones/z/disks/d');
    expect(t.repairVolumeHandle('ebs.csi.aws.com', 'vol-1', 'i-1')).toBe('vol-1');
    expect(() => t.repairVolumeHandle('unknown.driver', 'h', 'n')).toThrow(MigrationError);
  });

  it('translates Azure Disk, refusing unmanaged disks', () => {
    const out = t.translateInTreePvToCsi(pv({ azureDisk: { diskName: 'd', diskURI: '/subscriptions/s/disks/d', cachingMode: 'ReadOnly', fsType: 'xfs', readOnly: false } }));
    expect(out.spec?.csi).toEqual({
      driver: 'disk.csi.azure.com',
      volumeHandle: '/subscriptions/s/disks/d',
      fsType: 'xfs',
      readOnly: false,
      volumeAttributes: { kind: 'Managed', cachingmode: 'ReadOnly', fstype: 'xfs' },
    });
    expect(() => t.translateInTreePvToCsi(pv({ azureDisk: { diskName: 'd', diskURI: 'u', kind: 'Dedicated' } }))).toThrow(/not supported/);
  });

  it('translates Azure File with the claim namespace', () => {
    const out = t.translateInTreePvToCsi(
      pv(
        { azureFile: { secretName: 'azure-storage-account-acct-secret', shareName: 'share' }, claimRef: { namespace: 'ns1', name: 'c' } },
        { annotations: { 'kubernetes.io/azure-file-resource-group': 'rg' } },
      ),
    );
    expect(out.spec?.csi?.volumeHandle).toBe('rg#acct#share#pv-1#ns1');
    expect(out.spec?.csi?.nodeStageSecretRef).toEqual({ name: 'azure-storage-account-acct-secret', namespace: 'ns1' });
    expect(() => t.translateInTreePvToCsi(pv({ azureFile: { secretName: 's', shareName: 'x' } }))).toThrow(/secret namespace/);
  });

  it('translates Cinder, vSphere and Portworx', () => {
    expect(t.translateInTreePvToCsi(pv({ cinder: { volumeID: 'c1', fsType: 'ext4' } })).spec?.csi).toMatchObject({ driver: 'cinder.csi.openstack.org', volumeHandle: 'c1', fsType: 'ext4' });
    expect(t.translateInTreePvToCsi(pv({ vsphereVolume: { volumePath: '[ds] v.vmdk', storagePolicyName: 'gold' } })).spec?.csi).toMatchObject({
      driver: 'csi.vsphere.vmware.com',
      volumeHandle: '[ds] v.vmdk',
      volumeAttributes: { storagepolicyname: 'gold' },
    });
    const px = t.translateInTreePvToCsi(
      pv({ portworxVolume: { volumeID: 'px1' } }, { annotations: { 'openstorage.io/auth-secret-name': 's', 'openstorage.io/auth-secret-namespace': 'n' } }),
    );
    expect(px.spec?.csi).toMatchObject({ driver: 'pxd.portworx.com', volumeHandle: 'px1', controllerPublishSecretRef: { name: 's', namespace: 'n' } });
  });

  it('does not modify the PV it was given', () => {
    const original = pv({ awsElasticBlockStore: { volumeID: 'vol-1' } });
    const copy = structuredClone(original);
    t.translateInTreePvToCsi(original);
    expect(original).toEqual(copy);
  });
});
