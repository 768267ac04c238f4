import { afterEach, describe, expect, it } from '@jest/globals';
import { PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, STORAGE_CLASSES, VOLUME_SNAPSHOTS, VOLUME_SNAPSHOT_CONTENTS } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim, VolumeSnapshot } from '@csi-sidecars-ts/shared';
import { BASE_CONTROLLER_CAPS, DRIVER, claim, eventually, startHarness, storageClass, type Harness } from './__fixtures__/harness.js';

const CLONE_FINALIZER = 'provisioner.storage.kubernetes.io/cloning-protection';
const SNAP_FINALIZER = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const getClaim = (hh: Harness, name: string) => hh.server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, name, 'ns');
const pvs = (hh: Harness) => hh.server.list<PersistentVolume>(PERSISTENT_VOLUMES);

describe('cloning', () => {
  it('clones from a bound claim, protects the source while the clone is pending, then releases it', async () => {
    h = await startHarness({ beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    const srcVol = hh.plugin.store.seed({ name: 'src-vol' });
    const src = hh.server.create<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, {
      ...claim('source', 'fast', { spec: { volumeName: 'pv-src' } }),
      status: { phase: 'Bound' },
    });
    hh.server.create(PERSISTENT_VOLUMES, {
      metadata: { name: 'pv-src', annotations: { 'pv.kubernetes.io/provisioned-by': 'someone-else' } },
      spec: { csi: { driver: DRIVER, volumeHandle: srcVol.volumeId }, claimRef: { name: 'source', namespace: 'ns', uid: src.metadata!.uid }, persistentVolumeReclaimPolicy: 'Retain' },
      status: { phase: 'Bound' },
    });
    await new Promise((r) => setTimeout(r, 50));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('copy', 'fast', { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } } }));
    await eventually(() => pvs(hh).some((p) => p.spec?.claimRef?.name === 'copy'), 'clone PV');
    expect(hh.plugin.callsTo('CreateVolume')[0]!.request.volume_content_source?.volume?.volume_id).toBe(srcVol.volumeId);
    expect(getClaim(hh, 'source')?.metadata?.finalizers).toContain(CLONE_FINALIZER);

    // Deleting the source while the clone is still Pending keeps the finalizer.
    hh.server.remove(PERSISTENT_VOLUME_CLAIMS, 'source', 'ns');
    await new Promise((r) => setTimeout(r, 150));
    expect(getClaim(hh, 'source')?.metadata?.finalizers).toContain(CLONE_FINALIZER);
    const copy = getClaim(hh, 'copy')!;
    hh.server.update(PERSISTENT_VOLUME_CLAIMS, { ...copy, status: { phase: 'Bound' } });
    await eventually(() => getClaim(hh, 'source') === undefined, 'source released and deleted');
  });

  it('refuses to clone from a claim that is not bound', async () => {
    h = await startHarness({ beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('unbound', 'fast', { annotations: { 'volume.kubernetes.io/storage-provisioner': 'other' } }));
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('copy2', 'fast', { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'unbound' } } }));
    await eventually(() => hh.recorder.reasons('copy2').includes('ProvisioningFailed'), 'failure');
    expect(hh.recorder.for('copy2').find((e) => e.reason === 'ProvisioningFailed')!.message).toMatch(
      /^error getting handle for DataSource Type PersistentVolumeClaim by Name unbound: the PVC DataSource unbound must have a status of Bound/,
    );
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);
  });
});

describe('snapshots and populators', () => {
  it('restores from a snapshot, protecting it during the restore', async () => {
    h = await startHarness({
      plugin: { controllerCapabilities: [...BASE_CONTROLLER_CAPS, 'CREATE_DELETE_SNAPSHOT'] },
      beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')),
    });
    const hh = h;
    const snap = hh.server.create<VolumeSnapshot>(VOLUME_SNAPSHOTS, { metadata: { name: 'snap', namespace: 'ns' }, spec: { source: { persistentVolumeClaimName: 'x' } } });
    hh.server.create(VOLUME_SNAPSHOT_CONTENTS, {
      metadata: { name: 'content-1' },
      spec: { driver: DRIVER, deletionPolicy: 'Delete', volumeSnapshotRef: { name: 'snap', namespace: 'ns', uid: snap.metadata!.uid } },
      status: { snapshotHandle: 'snap-handle' },
    });
    hh.server.update(VOLUME_SNAPSHOTS, { ...snap, status: { boundVolumeSnapshotContentName: 'content-1', readyToUse: true, restoreSize: '1Gi' } });
    let finalizersDuringCreate: string[] | undefined;
    hh.plugin.setHandler('CreateVolume', (req, ctx) => {
      finalizersDuringCreate = hh.server.get<VolumeSnapshot>(VOLUME_SNAPSHOTS, 'snap', 'ns')?.metadata?.finalizers;
      const { volume_content_source: _source, ...rest } = req;
      const res = ctx.plugin.store.createVolume({ ...rest, volume_content_source: null });
      return { volume: { ...res.volume!, content_source: req.volume_content_source } };
    });
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('restored', 'fast', { spec: { dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'snap' } } }));
    await eventually(() => pvs(hh).length === 1, 'restored PV');
    expect(hh.plugin.callsTo('CreateVolume')[0]!.request.volume_content_source?.snapshot?.snapshot_id).toBe('snap-handle');
    expect(finalizersDuringCreate).toContain(SNAP_FINALIZER);
    await eventually(() => !(hh.server.get<VolumeSnapshot>(VOLUME_SNAPSHOTS, 'snap', 'ns')?.metadata?.finalizers ?? []).includes(SNAP_FINALIZER), 'finalizer removed');
  });

  it('sweeps our finalizer off snapshots no pending claim restores from', async () => {
    h = await startHarness({
      plugin: { controllerCapabilities: [...BASE_CONTROLLER_CAPS, 'CREATE_DELETE_SNAPSHOT'] },
      options: { snapshotOrphanSweepIntervalMs: 50 },
      beforeStart: (s) => {
        s.create(VOLUME_SNAPSHOTS, { metadata: { name: 'orphan', namespace: 'ns', finalizers: [SNAP_FINALIZER, 'other'] } });
        s.create(VOLUME_SNAPSHOTS, { metadata: { name: 'in-use', namespace: 'ns', finalizers: [SNAP_FINALIZER] } });
        s.create(PERSISTENT_VOLUME_CLAIMS, claim('waiting', 'none', { spec: { dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'in-use' } } }));
      },
    });
    const hh = h;
    await eventually(() => JSON.stringify(hh.server.get<VolumeSnapshot>(VOLUME_SNAPSHOTS, 'orphan', 'ns')?.metadata?.finalizers) === '["other"]', 'orphan swept');
    expect(hh.server.get<VolumeSnapshot>(VOLUME_SNAPSHOTS, 'in-use', 'ns')?.metadata?.finalizers).toEqual([SNAP_FINALIZER]);
  });

  it('leaves claims with other data sources to their populator', async () => {
    h = await startHarness({ beforeStart: (s) => s.create(STORAGE_CLASSES, storageClass('fast')) });
    const hh = h;
    hh.server.create(PERSISTENT_VOLUME_CLAIMS, claim('populated', 'fast', { spec: { dataSourceRef: { kind: 'Backup', apiGroup: 'example.com', name: 'b' } } }));
    await eventually(() => hh.recorder.reasons('populated').length >= 2, 'events');
    expect(hh.recorder.for('populated').map((e) => [e.type, e.reason, e.message])).toContainEqual(['Normal', 'Provisioning', 'Assuming an external populator will provision the volume']);
    expect(hh.recorder.reasons('populated')).not.toContain('ProvisioningFailed');
    expect(hh.plugin.callsTo('CreateVolume')).toHaveLength(0);
  });
});
