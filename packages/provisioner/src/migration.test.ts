// CSI migration end to end inside the process: the provisioner for a driver that replaces an
// in-tree plugin, against the fake apiserver and the fake CSI plugin serving under that driver's
// name, with the operations metric labelled `migrated` as the runtime sets it up.
import { afterEach, describe, expect, it } from '@jest/globals';
import { CsiOperationMetrics, GrpcCode, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, STORAGE_CLASSES } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { Registry } from 'prom-client';
import { eventually, eventuallyAsync, startHarness, type Harness } from './__fixtures__/harness.js';

const FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';

interface Setup extends Harness {
  csiRegistry: Registry;
}

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function start(driverName: string): Promise<Setup> {
  const csiRegistry = new Registry();
  const harness = await startHarness({
    plugin: { driverName },
    csiMetrics: new CsiOperationMetrics({ registry: csiRegistry, driverName, withMigratedLabel: true }),
    options: { provisioningJournal: false },
  });
  return { ...harness, csiRegistry };
}

function inTreeClaim(name: string, className: string, annotations: Record<string, string>): PersistentVolumeClaim {
  return {
    metadata: { name, namespace: 'ns', annotations },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: className, resources: { requests: { storage: '2Gi' } } },
    status: { phase: 'Pending' },
  };
}

const pvs = (x: Setup) => x.server.list<PersistentVolume>(PERSISTENT_VOLUMES);

/** csi_sidecar_operations_seconds_count lines of one method, as `migrated=... count`. */
async function callCounts(x: Setup, method: string): Promise<string[]> {
  const text = await x.csiRegistry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('csi_sidecar_operations_seconds_count{') && l.includes(`method_name="/csi.v1.Controller/${method}"`))
    .map((l) => `${/migrated="(\w+)"/.exec(l)?.[1]} ${l.slice(l.lastIndexOf(' ') + 1)}`);
}

describe('CSI migration', () => {
  it('provisions a claim of an in-tree StorageClass: translated parameters, in-tree PV, provisioned-by the in-tree name', async () => {
    s = await start('ebs.csi.aws.com');
    const x = s;
    x.server.create(STORAGE_CLASSES, {
      metadata: { name: 'gp' },
      provisioner: 'kubernetes.io/aws-ebs',
      parameters: { type: 'gp3', fsType: 'xfs', iopsPerGB: '10' },
      reclaimPolicy: 'Delete',
      mountOptions: ['noatime'],
      volumeBindingMode: 'Immediate',
    });
    // What kube-controller-manager 1.36 writes on such a claim: the CSI driver's name.
    x.server.create(PERSISTENT_VOLUME_CLAIMS, inTreeClaim('data', 'gp', { 'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com', 'volume.beta.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' }));
    await eventually(() => pvs(x).length === 1, 'PV created');
    const pv = pvs(x)[0]!;
    const uid = x.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'data', 'ns')!.metadata!.uid!;
    const [call] = x.plugin.callsTo('CreateVolume');
    expect(call!.request.parameters).toEqual({ type: 'gp3', iopsPerGB: '10', allowautoiopspergbincrease: 'true' });
    expect(call!.request.volume_capabilities[0]!.mount).toEqual({ fs_type: 'xfs', mount_flags: ['noatime'], volume_mount_group: '' });
    const volumeId = x.plugin.store.byName(`pvc-${uid}`)!.volumeId;
    expect(pv.metadata?.name).toBe(`pvc-${uid}`);
    expect(pv.metadata?.annotations).toEqual({
      'pv.kubernetes.io/provisioned-by': 'kubernetes.io/aws-ebs',
      'volume.kubernetes.io/provisioner-deletion-secret-name': '',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
    });
    expect(pv.metadata?.finalizers).toEqual([FINALIZER]);
    expect(pv.spec?.csi).toBeUndefined();
    expect(pv.spec).toMatchObject({
      awsElasticBlockStore: { volumeID: volumeId, fsType: 'xfs', readOnly: false },
      capacity: { storage: '2Gi' },
      storageClassName: 'gp',
      persistentVolumeReclaimPolicy: 'Delete',
      mountOptions: ['noatime'],
      claimRef: { name: 'data', namespace: 'ns', uid },
    });
    await eventually(() => x.recorder.reasons('data').includes('ProvisioningSucceeded'), 'success event');
    expect(await callCounts(x, 'CreateVolume')).toEqual(['true 1']);
  });

  it('deletes a released in-tree PV through its CSI translation', async () => {
    s = await start('ebs.csi.aws.com');
    const x = s;
    const vol = x.plugin.store.seed({ name: 'pvc-old' });
    x.server.create(PERSISTENT_VOLUMES, {
      metadata: {
        name: 'pvc-old',
        finalizers: [FINALIZER],
        annotations: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/aws-ebs', 'pv.kubernetes.io/migrated-to': 'ebs.csi.aws.com' },
      },
      spec: {
        awsElasticBlockStore: { volumeID: `aws://us-east-1a/${vol.volumeId}`, fsType: 'ext4' },
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'gone',
        claimRef: { name: 'c', namespace: 'ns', uid: 'u' },
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
      },
      status: { phase: 'Released' },
    });
    await eventually(() => x.server.get(PERSISTENT_VOLUMES, 'pvc-old') === undefined, 'PV deleted');
    // aws://<zone>/<id> is the in-tree form; the driver gets the bare id.
    expect(x.plugin.callsTo('DeleteVolume').map((c) => c.request.volume_id)).toEqual([vol.volumeId]);
    expect(x.plugin.store.size).toBe(0);
    expect(await callCounts(x, 'DeleteVolume')).toEqual(['true 1']);
  });

  it('deletes the new volume when the PV cannot be translated back to in-tree, and says why', async () => {
    // GCE PD handles are projects/<p>/zones/<z>/disks/<name>; the fake plugin's ids are not.
    s = await start('pd.csi.storage.gke.io');
    const x = s;
    x.server.create(STORAGE_CLASSES, { metadata: { name: 'pd' }, provisioner: 'kubernetes.io/gce-pd', parameters: { type: 'pd-ssd' }, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    x.server.create(PERSISTENT_VOLUME_CLAIMS, inTreeClaim('disk', 'pd', { 'volume.kubernetes.io/storage-provisioner': 'pd.csi.storage.gke.io' }));
    await eventually(() => x.recorder.reasons('disk').includes('ProvisioningFailed'), 'failure event');
    expect(x.recorder.for('disk').find((e) => e.reason === 'ProvisioningFailed')!.message).toBe('failed to get id components.Got: 1, wanted 6 components or more. ');
    await eventually(() => x.plugin.callsTo('DeleteVolume').length >= 1, 'DeleteVolume');
    expect(x.plugin.callsTo('DeleteVolume')[0]!.request.volume_id).toBe('vol-1');
    // Retried with backoff like any final error, never leaving a volume behind.
    await eventually(() => x.plugin.callsTo('CreateVolume').length >= 2, 'retry');
    await eventually(() => x.plugin.store.size === 0, 'no volume left');
    expect(pvs(x)).toEqual([]);
    await eventuallyAsync(async () => (await callCounts(x, 'DeleteVolume'))[0]?.startsWith('true ') === true, 'migrated DeleteVolume metric');
  });

  it('keeps retrying when that deletion fails too, until the volume is gone', async () => {
    s = await start('pd.csi.storage.gke.io');
    const x = s;
    x.plugin.fail('DeleteVolume', GrpcCode.Unavailable, 'backend offline', 5);
    x.server.create(STORAGE_CLASSES, { metadata: { name: 'pd' }, provisioner: 'kubernetes.io/gce-pd', reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    x.server.create(PERSISTENT_VOLUME_CLAIMS, inTreeClaim('disk', 'pd', { 'volume.kubernetes.io/storage-provisioner': 'pd.csi.storage.gke.io' }));
    await eventually(() => x.plugin.store.size === 0 && x.plugin.callsTo('DeleteVolume').length >= 6, 'volume deleted after the failures');
    const uid = x.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, 'disk', 'ns')!.metadata!.uid!;
    const messages = x.recorder.for('disk').filter((e) => e.reason === 'ProvisioningFailed').map((e) => e.message);
    expect(messages[0]).toBe(
      `failed to get id components.Got: 1, wanted 6 components or more. Deleting the new volume of pvc-${uid} failed too, will retry: rpc error: code = Unavailable desc = backend offline`,
    );
    // The retry found the same volume (CreateVolume is idempotent per name) and deleted it.
    expect(new Set(x.plugin.callsTo('DeleteVolume').map((c) => c.request.volume_id))).toEqual(new Set(['vol-1']));
    expect(pvs(x)).toEqual([]);
  });

  it('leaves in-tree claims and classes alone when the driver replaces no in-tree plugin', async () => {
    s = await start('plain.csi.example.com');
    const x = s;
    x.server.create(STORAGE_CLASSES, { metadata: { name: 'pd' }, provisioner: 'kubernetes.io/gce-pd', reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' });
    x.server.create(PERSISTENT_VOLUME_CLAIMS, inTreeClaim('a', 'pd', { 'volume.kubernetes.io/storage-provisioner': 'plain.csi.example.com' }));
    const vol = x.plugin.store.seed({ name: 'x' });
    x.server.create(PERSISTENT_VOLUMES, {
      metadata: { name: 'intree', finalizers: [FINALIZER], annotations: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/gce-pd' } },
      spec: { gcePersistentDisk: { pdName: vol.volumeId }, persistentVolumeReclaimPolicy: 'Delete', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] },
      status: { phase: 'Released' },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(x.plugin.callsTo('CreateVolume')).toHaveLength(0);
    expect(x.plugin.callsTo('DeleteVolume')).toHaveLength(0);
    expect(x.server.get(PERSISTENT_VOLUMES, 'intree')).toBeDefined();
  });
});
