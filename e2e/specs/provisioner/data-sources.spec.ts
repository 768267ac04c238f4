// csi-provisioner with data sources, against the real control plane and the real Kubernetes e2e
// CSI mock plugin: clones of bound claims, and restores from VolumeSnapshots. No snapshot
// controller runs here, so the spec plays its part: it cuts the backend snapshot through the
// plugin's own CreateSnapshot and creates the VolumeSnapshotContent and VolumeSnapshot (bound,
// ready) as the snapshot controller would. The plugin's ListVolumes shows the content source of
// every volume, so the spec checks that the sidecar asked for the right one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CsiConnection, type CsiVolumeContentSource } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME } from '../../src/harness/control-plane.js';
import { mergePatch } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ProvisionerKit, settledWarnings, sleep } from './support.js';

const NS = 'e2e-prov-data-sources';
const SC = 'e2e-prov-ds';
const GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';
const CLONE_FINALIZER = 'provisioner.storage.kubernetes.io/cloning-protection';
const SNAPSHOT_FINALIZER = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';

const kit = new ProvisionerKit(NS);
const custom = kit.kube.kc.makeApiClient(CustomObjectsApi);
let provisioner: ManagedProcess | undefined;
let csi: CsiConnection | undefined;
const contents: string[] = [];
const backendSnapshots: string[] = [];

interface Snapshot {
  metadata: { name: string; uid: string; finalizers?: string[] };
  status?: { readyToUse?: boolean };
}

async function contentSourceOf(handle: string): Promise<CsiVolumeContentSource | null | undefined> {
  const res = await csi!.controller.listVolumes({});
  const entry = res.entries.find((e) => e.volume?.volume_id === handle);
  if (!entry) throw new Error(`backend volume ${handle} not found`);
  return entry.volume?.content_source;
}

async function readSnapshot(name: string): Promise<Snapshot> {
  return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'volumesnapshots', name })) as Snapshot;
}

/**
 * What the snapshot controller does for a dynamic snapshot, done by hand: cut the snapshot in
 * the backend, then a VolumeSnapshot and its bound VolumeSnapshotContent with their status.
 * `handle` overrides the backend snapshot (e.g. one the plugin does not have).
 */
async function snapshotOf(name: string, sourceHandle: string, o: { ready?: boolean; handle?: string } = {}): Promise<void> {
  let handle = o.handle;
  if (!handle) {
    const res = await csi!.controller.createSnapshot({ name: `${NS}-${name}`, source_volume_id: sourceHandle });
    handle = res.snapshot!.snapshot_id;
    expect(res.snapshot!.ready_to_use).toBe(true);
    backendSnapshots.push(handle);
  }
  const contentName = `${NS}-${name}`;
  contents.push(contentName);
  const vs = (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NS,
    plural: 'volumesnapshots',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VolumeSnapshot', metadata: { name }, spec: { source: { volumeSnapshotContentName: contentName } } },
  })) as Snapshot;
  await custom.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'volumesnapshotcontents',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'VolumeSnapshotContent',
      metadata: { name: contentName },
      spec: {
        deletionPolicy: 'Retain',
        driver: DRIVER_NAME,
        source: { snapshotHandle: handle },
        sourceVolumeMode: 'Filesystem',
        volumeSnapshotRef: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VolumeSnapshot', namespace: NS, name, uid: vs.metadata.uid },
      },
    },
  });
  await custom.patchClusterCustomObjectStatus(
    { group: GROUP, version: VERSION, plural: 'volumesnapshotcontents', name: contentName, body: { status: { snapshotHandle: handle, readyToUse: true, restoreSize: 1024 ** 3 } } },
    mergePatch,
  );
  await setSnapshotReady(name, o.ready ?? true);
}

async function setSnapshotReady(name: string, ready: boolean): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: 'volumesnapshots',
      name,
      body: { status: { boundVolumeSnapshotContentName: `${NS}-${name}`, readyToUse: ready, restoreSize: '1Gi' } },
    },
    mergePatch,
  );
}

const fromSnapshot = (name: string) => ({ apiGroup: GROUP, kind: 'VolumeSnapshot', name });

let sourceHandle = '';

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC, DRIVER_NAME);
  csi = new CsiConnection({ address: info.csiEndpoint, onConnectionLost: () => undefined });
  await csi.start();
  provisioner = await startSidecarChecked(info, 'provisioner', {
    logName: 'csi-provisioner-data-sources.log',
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--snapshot-orphan-sweep-interval=2s'],
  });
  await kit.claim('source', SC);
  sourceHandle = (await kit.boundPv('source')).spec!.csi!.volumeHandle;
});

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  await provisioner?.stop();
  const snaps = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'volumesnapshots' }).catch(() => ({ items: [] }));
  for (const s of (snaps as { items: Snapshot[] }).items) {
    const name = s.metadata.name;
    await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'volumesnapshots', name, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'volumesnapshots', name }).catch(() => undefined);
  }
  for (const name of contents) await custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'volumesnapshotcontents', name }).catch(() => undefined);
  for (const id of backendSnapshots) await csi?.controller.deleteSnapshot({ snapshot_id: id }).catch(() => undefined);
  csi?.dispose();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner data sources', () => {
  it('clones a bound claim: the new volume is made from the source volume', async () => {
    await kit.claim('clone', SC, { dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } });
    const pv = await kit.boundPv('clone');
    const source = await contentSourceOf(pv.spec!.csi!.volumeHandle);
    expect(source?.volume).toBeTruthy();
    expect(source?.snapshot ?? undefined).toBeUndefined();
    // The source is protected from deletion while clones of it may be in progress.
    expect((await kit.readClaim('source')).metadata?.finalizers ?? []).toContain(CLONE_FINALIZER);
  });

  it('refuses a clone smaller than its source, in one clear Warning', async () => {
    await kit.claim('small-clone', SC, { size: '512Mi', dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } });
    const warnings = await settledWarnings(kit, 'small-clone', 3000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('new PVC request must be greater than or equal in size to the specified PVC data source');
    expect((await kit.readClaim('small-clone')).status?.phase).toBe('Pending');
  });

  it('restores a snapshot cut by the plugin: the new volume is made from that snapshot', async () => {
    await snapshotOf('snap', sourceHandle);
    await kit.claim('restored', SC, { dataSource: fromSnapshot('snap') });
    const pv = await kit.boundPv('restored');
    const source = await contentSourceOf(pv.spec!.csi!.volumeHandle);
    expect(source?.snapshot).toBeTruthy();
    expect(pv.spec?.capacity?.storage).toBe('1Gi');
    await waitFor('source-protection finalizer off the snapshot', async () => !((await readSnapshot('snap')).metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER));
  });

  it('waits for a snapshot that is not ready, then restores it', async () => {
    await snapshotOf('snap-later', sourceHandle, { ready: false });
    await kit.claim('restored-later', SC, { dataSource: fromSnapshot('snap-later') });
    const warnings = await settledWarnings(kit, 'restored-later', 2000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('snapshot snap-later is not Ready');
    await setSnapshotReady('snap-later', true);
    const pv = await kit.boundPv('restored-later');
    expect((await contentSourceOf(pv.spec!.csi!.volumeHandle))?.snapshot).toBeTruthy();
  });

  it('protects a snapshot while a restore from it fails, and releases it when the claim goes away', async () => {
    // A content whose handle the plugin does not know: CreateVolume answers NOT_FOUND.
    await snapshotOf('snap-gone', sourceHandle, { handle: 'no-such-snapshot' });
    await kit.claim('restore-fails', SC, { dataSource: fromSnapshot('snap-gone') });
    const warnings = await settledWarnings(kit, 'restore-fails', 2000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('Requested source snapshot no-such-snapshot not found');
    expect((await readSnapshot('snap-gone')).metadata.finalizers ?? []).toContain(SNAPSHOT_FINALIZER);
    await kit.deleteClaim('restore-fails');
    await waitFor('the sweeper lifts the finalizer', async () => !((await readSnapshot('snap-gone')).metadata.finalizers ?? []).includes(SNAPSHOT_FINALIZER), { timeoutMs: 30_000 });
  });

  it('keeps a deleted source claim until no Pending clone uses it', async () => {
    const sourcePv = (await kit.readClaim('source')).spec!.volumeName!;
    await kit.deleteClaim('source');
    await sleep(3000);
    const held = await kit.readClaim('source');
    expect(held.metadata?.deletionTimestamp).toBeTruthy();
    expect(held.metadata?.finalizers ?? []).toContain(CLONE_FINALIZER);
    // small-clone (Pending) still names it; once it is gone the protection is lifted.
    await kit.deleteClaim('small-clone');
    await waitFor('source claim deleted', async () => !(await kit.claims()).some((c) => c.metadata!.name === 'source'));
    await waitFor('source PV deleted', async () => (await kit.readPv(sourcePv)) === undefined);
    expect(await csi!.controller.listVolumes({}).then((r) => r.entries.map((e) => e.volume?.volume_id))).not.toContain(sourceHandle);
  });
});
