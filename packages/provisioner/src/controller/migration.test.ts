import { describe, expect, it } from '@jest/globals';
import { FakeClock, KubeApiError, MemoryEventRecorder, MigrationError, createMigrationTranslator, discardLogger } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { decideClaim } from './claim-decision.js';
import { csiViewOfVolume, inTreePluginFor, knownProvisionerNames, pvDescribesVolume, storageClassForCsi, volumeHandleOf } from './migration.js';
import { isOurVolume } from './volume-decision.js';
import { VolumeSaver } from './volume-saver.js';

const translator = createMigrationTranslator();
const DRIVER = 'pd.csi.storage.gke.io';
const IN_TREE = 'kubernetes.io/gce-pd';
const BETA = 'volume.beta.kubernetes.io/storage-provisioner';
const GA = 'volume.kubernetes.io/storage-provisioner';
const MIGRATED_TO = 'pv.kubernetes.io/migrated-to';

describe('inTreePluginFor / knownProvisionerNames', () => {
  it.each([
    ['pd.csi.storage.gke.io', 'kubernetes.io/gce-pd'],
    ['ebs.csi.aws.com', 'kubernetes.io/aws-ebs'],
    ['cinder.csi.openstack.org', 'kubernetes.io/cinder'],
    ['disk.csi.azure.com', 'kubernetes.io/azure-disk'],
    ['file.csi.azure.com', 'kubernetes.io/azure-file'],
    ['csi.vsphere.vmware.com', 'kubernetes.io/vsphere-volume'],
    ['pxd.portworx.com', 'kubernetes.io/portworx-volume'],
    ['hostpath.csi.k8s.io', undefined],
  ])('%s serves %s too', (driver, inTree) => {
    expect(inTreePluginFor(driver, translator)).toBe(inTree);
    expect([...knownProvisionerNames(driver, inTree)]).toEqual(inTree ? [driver, inTree] : [driver]);
  });
});

describe('which claims are ours (Go TestProvisionWithMigration and the library\'s shouldProvision)', () => {
  const sc = (provisioner: string): StorageClass => ({ metadata: { name: 'c' }, provisioner, volumeBindingMode: 'Immediate' });
  const claim = (annotations: Record<string, string>): PersistentVolumeClaim => ({
    metadata: { name: 'x', namespace: 'ns', uid: 'u', annotations },
    spec: { storageClassName: 'c' },
  });
  it.each<[string, string, Record<string, string>, boolean, string | undefined]>([
    ['in-tree class, beta annotation = driver', IN_TREE, { [BETA]: DRIVER }, true, undefined],
    ['in-tree class, GA annotation = driver (what KCM 1.36 writes)', IN_TREE, { [GA]: DRIVER, [BETA]: DRIVER }, true, undefined],
    ['CSI class, beta annotation = driver', DRIVER, { [BETA]: DRIVER }, true, undefined],
    ['in-tree class, annotation = in-tree, migrated-to = driver (KCM ≤ 1.22)', IN_TREE, { [BETA]: IN_TREE, [MIGRATED_TO]: DRIVER }, true, undefined],
    ['in-tree class, migrated-to another driver', IN_TREE, { [BETA]: IN_TREE, [MIGRATED_TO]: 'foo' }, false, 'claim is for another provisioner'],
    ['in-tree class, both annotations name another driver', IN_TREE, { [BETA]: 'foo', [MIGRATED_TO]: 'foo' }, false, 'claim is for another provisioner'],
    ['in-tree class, annotation and migrated-to = driver', IN_TREE, { [BETA]: DRIVER, [MIGRATED_TO]: DRIVER }, true, undefined],
    ['in-tree class, annotation = in-tree, not migrated', IN_TREE, { [BETA]: IN_TREE }, false, 'claim is for another provisioner'],
    ['the GA key wins over the beta one', IN_TREE, { [GA]: IN_TREE, [BETA]: DRIVER }, false, 'claim is for another provisioner'],
    ['migrated-to = driver but the annotation names an unknown provisioner', IN_TREE, { [BETA]: 'foo', [MIGRATED_TO]: DRIVER }, false, 'claim is not annotated for this provisioner'],
    ['a class of another in-tree plugin', 'kubernetes.io/aws-ebs', { [GA]: DRIVER }, false, 'StorageClass c names another provisioner (kubernetes.io/aws-ebs)'],
  ])('%s', (_name, provisioner, annotations, ours, reason) => {
    const d = decideClaim({ claim: claim(annotations), driverName: DRIVER, knownProvisioners: knownProvisionerNames(DRIVER, IN_TREE), storageClass: () => sc(provisioner) });
    expect(d.action).toBe(ours ? 'provision' : 'skip');
    if (reason) expect(d).toMatchObject({ reason });
  });

  it('without migration support an in-tree class is not ours, whatever the claim says', () => {
    const d = decideClaim({ claim: claim({ [GA]: DRIVER }), driverName: DRIVER, knownProvisioners: knownProvisionerNames(DRIVER, undefined), storageClass: () => sc(IN_TREE) });
    expect(d).toEqual({ action: 'skip', reason: `StorageClass c names another provisioner (${IN_TREE})` });
  });
});

describe('storageClassForCsi', () => {
  const inTreeClass: StorageClass = {
    metadata: { name: 'pd' },
    provisioner: IN_TREE,
    parameters: { type: 'pd-ssd', fstype: 'ext4', zone: 'europe-west1-b' },
    reclaimPolicy: 'Retain',
    mountOptions: ['noatime'],
  };

  it('translates a class of the in-tree plugin we replace and leaves the original alone', () => {
    const before = structuredClone(inTreeClass);
    const { storageClass, migrated } = storageClassForCsi(inTreeClass, IN_TREE, translator);
    expect(migrated).toBe(true);
    expect(storageClass.parameters).toEqual({ type: 'pd-ssd', 'csi.storage.k8s.io/fstype': 'ext4' });
    expect(storageClass.allowedTopologies).toEqual([{ matchLabelExpressions: [{ key: 'topology.gke.io/zone', values: ['europe-west1-b'] }] }]);
    expect(storageClass.provisioner).toBe(IN_TREE);
    expect(storageClass.mountOptions).toEqual(['noatime']);
    expect(inTreeClass).toEqual(before);
  });

  it.each<[string, StorageClass, string | undefined]>([
    ['a CSI class', { ...inTreeClass, provisioner: DRIVER }, IN_TREE],
    ['no migration support', inTreeClass, undefined],
    ['another in-tree plugin', { ...inTreeClass, provisioner: 'kubernetes.io/aws-ebs' }, IN_TREE],
  ])('returns %s unchanged', (_name, sc, inTree) => {
    expect(storageClassForCsi(sc, inTree, translator)).toEqual({ storageClass: sc, migrated: false });
  });

  it('fails with Go\'s wording when the class cannot be translated', () => {
    const bad: StorageClass = { ...inTreeClass, allowedTopologies: [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['a'] }] }] };
    expect(() => storageClassForCsi(bad, IN_TREE, translator)).toThrow(MigrationError);
    expect(() => storageClassForCsi(bad, IN_TREE, translator)).toThrow(
      'failed to translate storage class: cannot simultaneously set allowed topologies and zone/zones parameters',
    );
  });
});

const gcePv = (over: Partial<NonNullable<PersistentVolume['spec']>> = {}, labels?: Record<string, string>): PersistentVolume => ({
  metadata: { name: 'pvc-1', ...(labels ? { labels } : {}), annotations: { 'pv.kubernetes.io/provisioned-by': IN_TREE } },
  spec: { gcePersistentDisk: { pdName: 'disk-1', fsType: 'ext4' }, claimRef: { uid: 'claim-1' }, accessModes: ['ReadWriteOnce'], ...over },
});

describe('csiViewOfVolume', () => {
  it('translates a migratable in-tree PV to CSI', () => {
    const { pv, migrated } = csiViewOfVolume(gcePv({}, { 'topology.kubernetes.io/zone': 'europe-west1-b' }), translator);
    expect(migrated).toBe(true);
    expect(pv.spec?.csi).toMatchObject({ driver: DRIVER, volumeHandle: 'projects/UNSPECIFIED/zones/europe-west1-b/disks/disk-1', fsType: 'ext4' });
    expect(pv.spec?.gcePersistentDisk).toBeUndefined();
  });

  it('returns a CSI PV as it is', () => {
    const csi: PersistentVolume = { metadata: { name: 'p' }, spec: { csi: { driver: DRIVER, volumeHandle: 'h' } } };
    expect(csiViewOfVolume(csi, translator)).toEqual({ pv: csi, migrated: false });
  });

  it('throws for an in-tree PV that cannot be translated', () => {
    const pv: PersistentVolume = { metadata: { name: 'p' }, spec: { awsElasticBlockStore: { volumeID: 'aws://zone/not-a-volume' } } };
    expect(() => csiViewOfVolume(pv, translator)).toThrow('Invalid format for AWS volume (aws://zone/not-a-volume)');
  });
});

describe('pvDescribesVolume (journal) and volumeHandleOf (PV saver)', () => {
  const v = (volumeId: string, claimUid = 'claim-1') => ({ driverName: DRIVER, volumeId, claimUid });
  const csiPv: PersistentVolume = { metadata: { name: 'pvc-1' }, spec: { csi: { driver: DRIVER, volumeHandle: 'projects/p/zones/z/disks/disk-1' }, claimRef: { uid: 'claim-1' } } };
  it.each<[string, PersistentVolume, { driverName: string; volumeId: string; claimUid: string }, boolean]>([
    ['CSI PV with the handle', csiPv, v('projects/p/zones/z/disks/disk-1'), true],
    ['CSI PV with another handle, same claim', csiPv, v('projects/p/zones/z/disks/other'), false],
    ['CSI PV of another driver', { ...csiPv, spec: { ...csiPv.spec, csi: { driver: 'other', volumeHandle: 'projects/p/zones/z/disks/disk-1' } } }, v('projects/p/zones/z/disks/disk-1'), false],
    ['in-tree PV whose translation gives the handle', gcePv(), v('projects/UNSPECIFIED/zones/UNSPECIFIED/disks/disk-1', 'x'), true],
    ['in-tree PV of the same claim (translation loses the project)', gcePv(), v('projects/p/zones/z/disks/disk-1'), true],
    ['in-tree PV of another claim', gcePv(), v('projects/p/zones/z/disks/disk-1', 'claim-2'), false],
    ['in-tree PV of another plugin', { metadata: { name: 'p' }, spec: { cinder: { volumeID: 'disk-1' }, claimRef: { uid: 'claim-1' } } }, v('disk-1'), false],
  ])('%s → %s', (_name, pv, volume, describes) => {
    expect(pvDescribesVolume(pv, volume, translator)).toBe(describes);
  });

  it('compares a PV being saved with an existing in-tree one by their CSI handles', () => {
    expect(volumeHandleOf(gcePv(), translator)).toBe('projects/UNSPECIFIED/zones/UNSPECIFIED/disks/disk-1');
    expect(volumeHandleOf(csiPv, translator)).toBe('projects/p/zones/z/disks/disk-1');
    expect(volumeHandleOf({ metadata: { name: 'nfs' }, spec: { nfs: { server: 's', path: '/' } } }, translator)).toBeUndefined();
  });
});

describe('isOurVolume with the in-tree name known', () => {
  const known = knownProvisionerNames(DRIVER, IN_TREE);
  it.each<[string, PersistentVolume, boolean]>([
    ['provisioned by the in-tree name', gcePv(), true],
    ['provisioned by another in-tree plugin, migrated to us', { metadata: { name: 'p', annotations: { 'pv.kubernetes.io/provisioned-by': 'x', [MIGRATED_TO]: DRIVER } }, spec: {} }, true],
    ['provisioned by another in-tree plugin', { metadata: { name: 'p', annotations: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/aws-ebs' } }, spec: {} }, false],
    ['a static in-tree PV without annotations', { metadata: { name: 'p' }, spec: { gcePersistentDisk: { pdName: 'd' } } }, false],
  ])('%s → %s', (_name, pv, ours) => {
    expect(isOurVolume(pv, known)).toBe(ours);
  });
});

describe('VolumeSaver with in-tree PVs', () => {
  function saverWith(existing: PersistentVolume) {
    const deleted: string[] = [];
    const api = {
      createPersistentVolume: () => Promise.reject(new KubeApiError(409, 'AlreadyExists', 'persistentvolumes "pvc-1" already exists')),
      getPersistentVolume: () => Promise.resolve(existing),
    } as unknown as ProvisionerApi;
    const saver = new VolumeSaver({
      api,
      deleteBackendVolume: (id) => {
        deleted.push(id);
        return Promise.resolve(undefined);
      },
      claimByUid: () => undefined,
      recorder: new MemoryEventRecorder(),
      logger: discardLogger,
      clock: new FakeClock(),
    });
    return { saver, deleted };
  }

  it('takes an existing in-tree PV of the same volume and claim as saved (a retried save)', async () => {
    const pv = gcePv();
    const { saver, deleted } = saverWith(structuredClone(pv));
    expect(await saver.store({ pv, volumeId: 'projects/p/zones/z/disks/disk-1', secrets: undefined, claimUid: 'claim-1' })).toBe('saved');
    expect(deleted).toEqual([]);
    saver.dispose();
  });

  it('deletes the new volume when the existing in-tree PV describes another one', async () => {
    const { saver, deleted } = saverWith(gcePv({ gcePersistentDisk: { pdName: 'someone-elses' } }));
    expect(await saver.store({ pv: gcePv(), volumeId: 'projects/p/zones/z/disks/disk-1', secrets: undefined, claimUid: 'claim-1' })).toBe('stray');
    expect(deleted).toEqual(['projects/p/zones/z/disks/disk-1']);
    saver.dispose();
  });
});
