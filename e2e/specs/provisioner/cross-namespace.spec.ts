// csi-provisioner with cross-namespace data sources (dataSourceRef.namespace, alpha feature gate
// CrossNamespaceVolumeDataSource on both the apiserver — the harness turns it on — and the
// sidecar), against the real control plane and a real mock plugin of its own. The Gateway API
// ReferenceGrant CRD is installed by this spec (our own minimal CRD), after the sidecar started,
// so the spec also shows what happens while the cluster does not serve it: as with the Go
// provisioner, the controllers wait for the ReferenceGrant cache, then start once it is served.
// A clone of a claim in namespace A into namespace B is refused with a Warning until a matching
// ReferenceGrant in A exists; grants that do not match keep it refused; the grant is picked up
// by the informer without a restart. Without the sidecar's gate the namespace is refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi, type CoreV1Event, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CsiConnection, type CsiVolumeContentSource } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import { mergePatch } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import {
  REFERENCE_GRANT_GROUP,
  REFERENCE_GRANT_PLURAL,
  REFERENCE_GRANT_VERSION,
  installReferenceGrantCrd,
  removeReferenceGrantCrd,
} from '../../src/harness/reference-grant-crd.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ProvisionerKit, sleep } from './support.js';

const NS_A = 'e2e-prov-xns-source';
const NS_B = 'e2e-prov-xns-target';
const DRIVER = 'e2e-prov-xns.storage.mock';
const SC = 'e2e-prov-xns';
const SNAP_GROUP = 'snapshot.storage.k8s.io';
const SNAP_VERSION = 'v1';
const GATE = '--feature-gates=CrossNamespaceVolumeDataSource=true';
const SIDECAR_ARGS = ['--retry-interval-start=200ms', '--retry-interval-max=1s', '--snapshot-orphan-sweep-interval=2s'];

const kitA = new ProvisionerKit(NS_A);
const kitB = new ProvisionerKit(NS_B);
const kube = kitA.kube;
const custom = kube.kc.makeApiClient(CustomObjectsApi);
let plugin: ExtraPlugin | undefined;
let csi: CsiConnection | undefined;
let sidecar: ManagedProcess | undefined;
let sourceHandle = '';
const backendSnapshots: string[] = [];
const CONTENT = `${NS_A}-snap`;

function startProvisioner(gate: boolean, logName: string): Promise<ManagedProcess> {
  return startSidecarChecked(clusterInfo(), 'provisioner', { csiAddress: plugin!.socket, logName, extraArgs: [...SIDECAR_ARGS, ...(gate ? [GATE] : [])] });
}

/** A claim in B whose dataSourceRef names an object in A. */
function crossClaim(name: string, ref: { apiGroup?: string; kind: string; name: string }): Promise<V1PersistentVolumeClaim> {
  return kube.core.createNamespacedPersistentVolumeClaim({
    namespace: NS_B,
    body: {
      metadata: { name },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: SC,
        resources: { requests: { storage: '1Gi' } },
        dataSourceRef: { ...ref, namespace: NS_A },
      },
    },
  });
}

/** How often the provisioner refused `claim` with a message containing `text` (events are aggregated into counts). */
async function refusals(claim: string, text: string): Promise<number> {
  const events: CoreV1Event[] = await kitB.warnings(claim);
  return events.filter((e) => e.reason === 'ProvisioningFailed' && e.message?.includes(text)).reduce((n, e) => n + (e.count ?? 1), 0);
}

function grant(name: string, to: { group: string; kind: string; name?: string }, fromNamespace = NS_B) {
  return custom.createNamespacedCustomObject({
    group: REFERENCE_GRANT_GROUP,
    version: REFERENCE_GRANT_VERSION,
    namespace: NS_A,
    plural: REFERENCE_GRANT_PLURAL,
    body: {
      apiVersion: `${REFERENCE_GRANT_GROUP}/${REFERENCE_GRANT_VERSION}`,
      kind: 'ReferenceGrant',
      metadata: { name },
      spec: { from: [{ group: '', kind: 'PersistentVolumeClaim', namespace: fromNamespace }], to: [to] },
    },
  });
}

async function contentSourceOf(handle: string): Promise<CsiVolumeContentSource | null | undefined> {
  const res = await csi!.controller.listVolumes({});
  const entry = res.entries.find((e) => e.volume?.volume_id === handle);
  if (!entry) throw new Error(`backend volume ${handle} not found`);
  return entry.volume?.content_source;
}

// The mock plugin records a content source by the source's position in its own list (not its
// ID); nothing is deleted from the plugin during the tests, so the positions are stable.
async function volumePosition(handle: string): Promise<string> {
  const i = (await csi!.controller.listVolumes({})).entries.findIndex((e) => e.volume?.volume_id === handle);
  if (i < 0) throw new Error(`backend volume ${handle} not found`);
  return String(i);
}

async function snapshotPosition(handle: string): Promise<string> {
  const i = (await csi!.controller.listSnapshots({})).entries.findIndex((e) => e.snapshot?.snapshot_id === handle);
  if (i < 0) throw new Error(`backend snapshot ${handle} not found`);
  return String(i);
}

const notAllowed = (claim: string, kind = 'PersistentVolumeClaim', name = 'source') => `accessing ${NS_A}/${name} of ${kind} dataSource from ${NS_B}/${claim} isn't allowed`;

beforeAll(async () => {
  const info = clusterInfo();
  // A cluster without the Gateway API, as most are (also after an interrupted earlier run).
  await removeReferenceGrantCrd(kube);
  await kitA.createNamespace();
  await kitB.createNamespace();
  plugin = await startExtraPlugin(info, kube, { driverName: DRIVER });
  await kitA.storageClass(SC, DRIVER);
  csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
  await csi.start();
}, 60_000);

afterAll(async () => {
  // Clones first (they hold the source's clone protection), with a provisioner running to delete volumes.
  if (!sidecar?.running) sidecar = await startProvisioner(true, 'csi-provisioner-xns-cleanup.log').catch(() => undefined);
  await kitB.deleteClaimsAndWait(30_000).catch(() => undefined);
  await custom
    .patchNamespacedCustomObject({ group: SNAP_GROUP, version: SNAP_VERSION, namespace: NS_A, plural: 'volumesnapshots', name: 'snap', body: { metadata: { finalizers: null } } }, mergePatch)
    .catch(() => undefined);
  await custom.deleteNamespacedCustomObject({ group: SNAP_GROUP, version: SNAP_VERSION, namespace: NS_A, plural: 'volumesnapshots', name: 'snap' }).catch(() => undefined);
  await custom.deleteClusterCustomObject({ group: SNAP_GROUP, version: SNAP_VERSION, plural: 'volumesnapshotcontents', name: CONTENT }).catch(() => undefined);
  for (const id of backendSnapshots) await csi?.controller.deleteSnapshot({ snapshot_id: id }).catch(() => undefined);
  await kitA.deleteClaimsAndWait(30_000).catch(() => undefined);
  await sidecar?.stop();
  csi?.dispose();
  await kitB.cleanup();
  await kitA.cleanup();
  await plugin?.stop();
  await removeReferenceGrantCrd(kube).catch(() => undefined);
}, 120_000);

describe('csi-provisioner cross-namespace data sources', () => {
  it('without the CrossNamespaceVolumeDataSource gate, refuses a dataSourceRef into another namespace as Go does', async () => {
    sidecar = await startProvisioner(false, 'csi-provisioner-xns-nogate.log');
    await kitA.claim('source', SC);
    sourceHandle = (await kitA.boundPv('source')).spec!.csi!.volumeHandle;
    const created = await crossClaim('copy', { kind: 'PersistentVolumeClaim', name: 'source' });
    // The apiserver kept the namespace (its own gate is on in the harness's control plane).
    if (created.spec?.dataSourceRef?.namespace !== NS_A) {
      throw new Error('kube-apiserver dropped spec.dataSourceRef (namespace set): run it with --feature-gates=CrossNamespaceVolumeDataSource=true');
    }
    await waitFor('refused for the disabled gate', async () => (await refusals('copy', 'dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled')) > 0);
    expect((await kitB.readClaim('copy')).status?.phase).toBe('Pending');
    await sidecar.stop();
  });

  it('with the gate and no ReferenceGrant API, provisions nothing until the CRD is installed', async () => {
    sidecar = await startProvisioner(true, 'csi-provisioner-xns.log');
    await kitB.claim('plain', SC);
    await sleep(3000);
    expect(sidecar.running).toBe(true);
    expect((await kitB.readClaim('plain')).status?.phase).toBe('Pending');
    expect(sidecar.tail(200)).toContain('install the Gateway API ReferenceGrant CRD');
    await installReferenceGrantCrd(kube);
    // The informer's list is retried with backoff; once it succeeds the controllers start.
    await kitB.boundPv('plain', 45_000);
  }, 60_000);

  it('refuses the clone with a Warning while no ReferenceGrant allows it, also with grants that do not match', async () => {
    await waitFor('refused: no grant', async () => (await refusals('copy', notAllowed('copy'))) > 0);
    await grant('other-kind', { group: SNAP_GROUP, kind: 'VolumeSnapshot' });
    await grant('other-name', { group: '', kind: 'PersistentVolumeClaim', name: 'not-the-source' });
    await grant('other-origin', { group: '', kind: 'PersistentVolumeClaim' }, 'some-other-namespace');
    const before = await refusals('copy', notAllowed('copy'));
    // Several retries (at most 1 s apart) with the non-matching grants in the cache.
    await waitFor('refused again', async () => (await refusals('copy', notAllowed('copy'))) >= before + 3, { timeoutMs: 20_000 });
    const claim = await kitB.readClaim('copy');
    expect(claim.status?.phase).toBe('Pending');
    expect(claim.spec?.volumeName ?? '').toBe('');
  });

  it('provisions the clone from the source volume once a matching ReferenceGrant appears, without a restart', async () => {
    const pid = sidecar!.pid;
    await grant('allow-source', { group: '', kind: 'PersistentVolumeClaim', name: 'source' });
    const pv = await kitB.boundPv('copy', 30_000);
    expect((await contentSourceOf(pv.spec!.csi!.volumeHandle))?.volume?.volume_id).toBe(await volumePosition(sourceHandle));
    expect(sidecar!.running).toBe(true);
    expect(sidecar!.pid).toBe(pid);
  });

  it('restores a VolumeSnapshot of another namespace that a ReferenceGrant allows', async () => {
    // What the snapshot controller would do: a backend snapshot, a bound and ready VolumeSnapshot in A.
    const res = await csi!.controller.createSnapshot({ name: CONTENT, source_volume_id: sourceHandle });
    const handle = res.snapshot!.snapshot_id;
    backendSnapshots.push(handle);
    const vs = (await custom.createNamespacedCustomObject({
      group: SNAP_GROUP,
      version: SNAP_VERSION,
      namespace: NS_A,
      plural: 'volumesnapshots',
      body: { apiVersion: `${SNAP_GROUP}/${SNAP_VERSION}`, kind: 'VolumeSnapshot', metadata: { name: 'snap' }, spec: { source: { volumeSnapshotContentName: CONTENT } } },
    })) as { metadata: { uid: string } };
    await custom.createClusterCustomObject({
      group: SNAP_GROUP,
      version: SNAP_VERSION,
      plural: 'volumesnapshotcontents',
      body: {
        apiVersion: `${SNAP_GROUP}/${SNAP_VERSION}`,
        kind: 'VolumeSnapshotContent',
        metadata: { name: CONTENT },
        spec: {
          deletionPolicy: 'Retain',
          driver: DRIVER,
          source: { snapshotHandle: handle },
          sourceVolumeMode: 'Filesystem',
          volumeSnapshotRef: { apiVersion: `${SNAP_GROUP}/${SNAP_VERSION}`, kind: 'VolumeSnapshot', namespace: NS_A, name: 'snap', uid: vs.metadata.uid },
        },
      },
    });
    await custom.patchClusterCustomObjectStatus(
      { group: SNAP_GROUP, version: SNAP_VERSION, plural: 'volumesnapshotcontents', name: CONTENT, body: { status: { snapshotHandle: handle, readyToUse: true, restoreSize: 1024 ** 3 } } },
      mergePatch,
    );
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: SNAP_GROUP,
        version: SNAP_VERSION,
        namespace: NS_A,
        plural: 'volumesnapshots',
        name: 'snap',
        body: { status: { boundVolumeSnapshotContentName: CONTENT, readyToUse: true, restoreSize: '1Gi' } },
      },
      mergePatch,
    );
    // The 'other-kind' grant of the previous test allows VolumeSnapshots of A from B.
    await crossClaim('restored', { apiGroup: SNAP_GROUP, kind: 'VolumeSnapshot', name: 'snap' });
    const pv = await kitB.boundPv('restored', 30_000);
    expect((await contentSourceOf(pv.spec!.csi!.volumeHandle))?.snapshot?.snapshot_id).toBe(await snapshotPosition(handle));
  });
});
