import { describe, expect, it } from '@jest/globals';
import type { PersistentVolume, StorageClass } from '../api/types.js';
import { createMigrationTranslator, MigrationError } from './translator.js';

const t = createMigrationTranslator();
const sc = (provisioner: string, parameters: Record<string, string>, allowedTopologies?: StorageClass['allowedTopologies']): StorageClass => ({
  metadata: { name: 'sc' },
  provisioner,
  parameters,
  ...(allowedTopologies ? { allowedTopologies } : {}),
});

describe('StorageClass translation', () => {
  it.each([
    ['kubernetes.io/aws-ebs', { type: 'io1', iopsPerGB: '10', fsType: 'xfs' }, { type: 'io1', iopsPerGB: '10', allowautoiopspergbincrease: 'true', 'csi.storage.k8s.io/fstype': 'xfs' }],
    ['kubernetes.io/gce-pd', { 'replication-type': 'regional-pd', type: 'pd-ssd' }, { 'replication-type': 'regional-pd', type: 'pd-ssd' }],
    ['kubernetes.io/azure-disk', { skuName: 'Premium_LRS', storageaccounttype: 'x', fsType: 'ext4' }, { skuName: 'Premium_LRS', storageaccounttype: 'x', fsType: 'ext4' }],
    ['kubernetes.io/cinder', { fstype: 'ext4', type: 'ssd' }, { 'csi.storage.k8s.io/fstype': 'ext4', type: 'ssd' }],
    ['kubernetes.io/azure-file', { skuName: 'Standard_LRS' }, { skuName: 'Standard_LRS' }],
    ['kubernetes.io/vsphere-volume', { datastore: 'ds1', storagePolicyName: 'gold', unknown: 'x' }, { 'datastore-migrationparam': 'ds1', storagepolicyname: 'gold', csimigration: 'true' }],
    [
      'kubernetes.io/portworx-volume',
      { repl: '2', 'openstorage.io/auth-secret-name': 's' },
      {
        repl: '2',
        'csi.storage.k8s.io/provisioner-secret-name': 's',
        'csi.storage.k8s.io/controller-publish-secret-name': 's',
        'csi.storage.k8s.io/node-publish-secret-name': 's',
        'csi.storage.k8s.io/node-stage-secret-name': 's',
        'csi.storage.k8s.io/controller-expand-secret-name': 's',
        'csi.storage.k8s.io/node-expand-secret-name': 's',
      },
    ],
  ])('translates %s parameters', (plugin, params, want) => {
    const original = sc(plugin, params);
    expect(t.translateInTreeStorageClassToCsi(plugin, original).parameters).toEqual(want);
    expect(original.parameters).toEqual(params);
  });

  it('turns zone/zones into allowedTopologies and rewrites existing zone expressions', () => {
    expect(t.translateInTreeStorageClassToCsi('kubernetes.io/gce-pd', sc('kubernetes.io/gce-pd', { zones: 'a,b' })).allowedTopologies).toEqual([
      { matchLabelExpressions: [{ key: 'topology.gke.io/zone', values: ['a', 'b'] }] },
    ]);
    const allowed = [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['us-east-1a'] }, { key: 'other', values: ['x'] }] }];
    expect(t.translateInTreeStorageClassToCsi('kubernetes.io/aws-ebs', sc('kubernetes.io/aws-ebs', {}, allowed)).allowedTopologies).toEqual([
      { matchLabelExpressions: [{ key: 'topology.ebs.csi.aws.com/zone', values: ['us-east-1a'] }, { key: 'other', values: ['x'] }] },
    ]);
    expect(() => t.translateInTreeStorageClassToCsi('kubernetes.io/aws-ebs', sc('kubernetes.io/aws-ebs', { zone: 'z' }, allowed))).toThrow(MigrationError);
    const azure = t.translateInTreeStorageClassToCsi('kubernetes.io/azure-disk', sc('kubernetes.io/azure-disk', {}, [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['0', 'eastus-1'] }] }]));
    expect(azure.allowedTopologies?.[0]?.matchLabelExpressions?.[0]).toEqual({ key: 'topology.disk.csi.azure.com/zone', values: ['', 'eastus-1'] });
    expect(() => t.translateInTreeStorageClassToCsi('example.com/x', sc('example.com/x', {}))).toThrow(/could not find/);
  });

  it('knows plugin and driver names both ways', () => {
    expect(t.csiDriverNameOf('kubernetes.io/aws-ebs')).toBe('ebs.csi.aws.com');
    expect(t.inTreePluginNameOf('pd.csi.storage.gke.io')).toBe('kubernetes.io/gce-pd');
    expect(t.inTreePluginNameOf('example.com/x')).toBeUndefined();
    expect(t.isMigratableInTreePlugin('kubernetes.io/vsphere-volume')).toBe(true);
  });
});

const csiPv = (csi: NonNullable<NonNullable<PersistentVolume['spec']>['csi']>, extra: NonNullable<PersistentVolume['spec']> = {}): PersistentVolume => ({
  metadata: { name: 'pv-1' },
  spec: { csi, ...extra },
});

describe('CSI PV → in-tree', () => {
  it('translates AWS EBS with topology and region labels', () => {
    const affinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.ebs.csi.aws.com/zone', operator: 'In', values: ['us-east-1a'] }] }] } };
    const out = t.translateCsiPvToInTree(csiPv({ driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1', fsType: 'ext4', volumeAttributes: { partition: '1' } }, { nodeAffinity: affinity }));
    expect(out.spec?.csi).toBeUndefined();
    expect(out.spec?.awsElasticBlockStore).toEqual({ volumeID: 'vol-1', fsType: 'ext4', readOnly: false, partition: 1 });
    expect(out.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions).toEqual([
      { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] },
      { key: 'topology.kubernetes.io/region', operator: 'In', values: ['us-east-1'] },
    ]);
    expect(out.metadata?.labels).toEqual({ 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' });
  });

  it.each([
    ['pd.csi.storage.gke.io', 'projects/p/zones/us-central1-a/disks/d1', 'gcePersistentDisk', { pdName: 'd1', fsType: '', readOnly: false }],
    ['cinder.csi.openstack.org', 'c1', 'cinder', { volumeID: 'c1', fsType: '', readOnly: false }],
    ['pxd.portworx.com', 'px', 'portworxVolume', { volumeID: 'px', fsType: '', readOnly: false }],
    [
      'disk.csi.azure.com',
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d2',
      'azureDisk',
      { diskName: 'd2', diskURI: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d2', fsType: '', readOnly: false, kind: 'Managed' },
    ],
    ['file.csi.azure.com', 'rg#acct#share#pv#ns', 'azureFile', { shareName: 'share', secretName: 'azure-storage-account-acct-secret', secretNamespace: 'default', readOnly: false }],
    ['csi.vsphere.vmware.com', 'h', 'vsphereVolume', { volumePath: '', fsType: '' }],
  ] as const)('translates %s back', (driver, handle, field, want) => {
    const out = t.translateCsiPvToInTree(csiPv({ driver, volumeHandle: handle }));
    expect(out.spec?.csi).toBeUndefined();
    expect(out.spec?.[field]).toEqual(want);
  });

  it('round-trips an in-tree PV and refuses unknown drivers', () => {
    const inTree: PersistentVolume = { metadata: { name: 'pv' }, spec: { cinder: { volumeID: 'v', fsType: 'ext4', readOnly: false } } };
    expect(t.translateCsiPvToInTree(t.translateInTreePvToCsi(inTree)).spec).toEqual(inTree.spec);
    expect(() => t.translateCsiPvToInTree(csiPv({ driver: 'example.com/x', volumeHandle: 'h' }))).toThrow(MigrationError);
    expect(() => t.translateCsiPvToInTree(csiPv({ driver: 'pd.csi.storage.gke.io', volumeHandle: 'bad' }))).toThrow(/components/);
  });
});
