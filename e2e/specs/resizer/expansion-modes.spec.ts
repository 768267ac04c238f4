// csi-resizer (ours) with the real control plane and the real Kubernetes e2e CSI mock plugin in
// its expansion modes, each plugin under its own driver name (startExtraPlugin):
// - real admission: the apiserver's PersistentVolumeClaimResize plugin refuses to grow a claim
//   whose StorageClass does not allow expansion (the resizer never checks it);
// - online expansion of a claim in use by a pod whose volume our attacher published, without a
//   node step (kube-controller-manager's expand controller leaves CSI volumes to us);
// - online expansion with node expansion required: the PV grows, the claim waits for kubelet,
//   and a later, bigger request does not re-target kubelet's pending expansion;
// - offline-only expansion (--disable-online-expansion): the plugin refuses to expand a volume
//   our attacher published for a pod (FailedPrecondition), the resizer stops calling it while the
//   pod exists and calls again once it is gone. (The mock never forgets that a volume was
//   published, so it keeps refusing; offline-expansion.spec.ts shows the expansion completing.)
// - an in-tree AWS EBS PV migrated to CSI: kube-controller-manager's expand controller names the
//   CSI driver in the claim's `volume.kubernetes.io/storage-resizer` annotation, and the resizer
//   of that driver (the mock plugin serving as `ebs.csi.aws.com`) expands the translated volume.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection, KubeApiError } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { GiB, logLines, ResizerKit } from './resizer-kit.js';

const NS = 'resizer-modes-e2e';
const ONLINE = 'resizer-online.csi.e2e';
const NODE_STEP = 'resizer-node-step.csi.e2e';
const OFFLINE = 'resizer-offline-mock.csi.e2e';
const EBS = 'ebs.csi.aws.com';
const SC = 'resizer-modes-expandable';
const SC_FIXED = 'resizer-modes-fixed';
const FS_RESIZE_PENDING = 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.';

interface Driver {
  plugin: ExtraPlugin;
  csi: CsiConnection;
  resizer?: ManagedProcess;
}

let kit: ResizerKit;
const drivers = new Map<string, Driver>();
const attachers: ManagedProcess[] = [];
let offlineMetricsPort = 0;

async function startDriver(name: string, args: string[], csiDriverSpec: Record<string, unknown>, resizerArgs: string[] = []): Promise<Driver> {
  const info = clusterInfo();
  const plugin = await startExtraPlugin(info, clusterKube(), { driverName: name, args, csiDriverSpec });
  const csi = new CsiConnection({ address: plugin.endpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
  const d: Driver = { plugin, csi };
  drivers.set(name, d);
  await csi.start();
  d.resizer = await startSidecarChecked(info, 'resizer', {
    csiAddress: plugin.socket,
    logName: `csi-resizer-${name}.log`,
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=3s', ...resizerArgs],
  });
  if (csiDriverSpec.attachRequired) {
    attachers.push(
      await startSidecarChecked(info, 'attacher', {
        csiAddress: plugin.socket,
        logName: `csi-attacher-${name}.log`,
        extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s'],
      }),
    );
  }
  return d;
}

/** ControllerExpandVolume calls the resizer made, from its csi_sidecar_operations_seconds metric. */
async function expandCallsMade(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('csi_sidecar_operations_seconds_count{') && line.includes('method_name="/csi.v1.Controller/ControllerExpandVolume"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

function driver(name: string): Driver {
  const d = drivers.get(name);
  if (!d) throw new Error(`driver ${name} not started`);
  return d;
}

/** A 1Gi volume made by the plugin's CreateVolume; returns its handle. */
async function backendVolume(driverName: string, name: string): Promise<string> {
  const { volume } = await driver(driverName).csi.controller.createVolume({
    name: `${NS}-${name}`,
    capacity_range: { required_bytes: GiB },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  return volume!.volume_id;
}

async function csiClaim(driverName: string, name: string, storageClassName = SC): Promise<{ pv: string; handle: string }> {
  const handle = await backendVolume(driverName, name);
  const pv = `${NS}-${name}`;
  await kit.boundClaim({ name, pv, driver: driverName, handle, storageClassName });
  return { pv, handle };
}

async function backendSize(driverName: string, handle: string): Promise<bigint> {
  const { volume } = await driver(driverName).csi.controller.controllerGetVolume({ volume_id: handle });
  return volume!.capacity_bytes;
}

beforeAll(async () => {
  const info = clusterInfo();
  kit = new ResizerKit(info, NS);
  await kit.createNamespace();
  await kit.storageClass(SC, ONLINE, true);
  await kit.storageClass(SC_FIXED, ONLINE, undefined);
  await startDriver(ONLINE, [], { attachRequired: true });
  await startDriver(NODE_STEP, ['--node-expansion-required'], { attachRequired: false });
  offlineMetricsPort = await freePort();
  await startDriver(OFFLINE, ['--disable-online-expansion'], { attachRequired: true }, [
    '--handle-volume-inuse-error=true',
    `--http-endpoint=127.0.0.1:${offlineMetricsPort}`,
  ]);
  await startDriver(EBS, [], { attachRequired: false });
}, 120_000);

afterAll(async () => {
  for (const d of drivers.values()) await d.resizer?.stop();
  const pods = await kit.client.request<{ items: { metadata?: { name?: string } }[] }>({ method: 'GET', path: `/api/v1/namespaces/${NS}/pods` }).catch(() => ({ items: [] }));
  for (const p of pods.items) await kit.deletePod(p.metadata?.name ?? '').catch(() => undefined);
  for (const pv of [`${NS}-online`, `${NS}-offline`]) {
    await waitFor(`VolumeAttachment of ${pv} gone`, async () => (await kit.volumeAttachmentFor(pv)) === undefined, { timeoutMs: 30_000 }).catch(() => undefined);
  }
  for (const a of attachers) await a.stop();
  await kit?.cleanup();
  for (const d of drivers.values()) {
    d.csi.dispose();
    await d.plugin.stop();
  }
}, 120_000);

describe('csi-resizer with the mock plugin in its expansion modes', () => {
  it('the apiserver refuses to grow a claim whose StorageClass does not allow expansion', async () => {
    await csiClaim(ONLINE, 'fixed', SC_FIXED);
    const refused = await kit.request('fixed', '2Gi').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).code).toBe(403);
    expect((refused as KubeApiError).message).toContain('only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize');
    const claim = await kit.getPvc('fixed');
    expect(claim.spec!.resources!.requests).toEqual({ storage: '1Gi' });
    expect(claim.status!.allocatedResources ?? { storage: '1Gi' }).toEqual({ storage: '1Gi' });
  });

  it('expands online a claim in use by a pod on a published volume, with no node step', async () => {
    const { pv, handle } = await csiClaim(ONLINE, 'online');
    await kit.pod('online-user', 'node-1', 'online');
    await waitFor('volume attached by our attacher', async () => (await kit.volumeAttachmentFor(pv))?.status?.attached === true);

    await kit.request('online', '2Gi');
    // kube-controller-manager has no in-tree expander for CSI volumes: it leaves them to us.
    const external = await kit.waitForEvent('online', (e) => e.reason === 'ExternalExpanding', 'ExternalExpanding');
    expect(external).toMatchObject({ type: 'Normal', message: 'waiting for an external controller to expand this PVC' });
    const done = await waitFor('claim capacity 2Gi', async () => {
      const c = await kit.getPvc('online');
      return c.status?.capacity?.storage === '2Gi' ? c : undefined;
    });
    expect(done.status!.allocatedResources).toEqual({ storage: '2Gi' });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    expect(done.status!.conditions ?? []).toEqual([]);
    expect(done.metadata!.annotations!['volume.kubernetes.io/node-expansion-not-required']).toBe('true');
    expect((await kit.getPv(pv)).spec!.capacity).toEqual({ storage: '2Gi' });
    expect(await backendSize(ONLINE, handle)).toBe(2n * GiB);
    // It happened online: the volume stayed attached (published) to the pod's node throughout.
    expect((await kit.volumeAttachmentFor(pv))?.status?.attached).toBe(true);
    const resizing = await kit.waitForEvent('online', (e) => e.reason === 'Resizing', 'Resizing');
    expect(resizing.source?.component).toBe(`external-resizer ${ONLINE}`);
    await kit.waitForEvent('online', (e) => e.reason === 'VolumeResizeSuccessful', 'VolumeResizeSuccessful');
  });

  it('with node expansion required the PV grows and the claim waits for kubelet; a bigger request does not re-target it', async () => {
    const { pv, handle } = await csiClaim(NODE_STEP, 'node-step');
    await kit.pod('node-step-user', 'node-2', 'node-step');

    await kit.request('node-step', '2Gi');
    const pending = await waitFor('claim NodeResizePending', async () => {
      const c = await kit.getPvc('node-step');
      return c.status?.allocatedResourceStatuses?.storage === 'NodeResizePending' ? c : undefined;
    });
    // kubelet (absent here) would finish the file system and set the capacity.
    expect(pending.status!.capacity).toEqual({ storage: '1Gi' });
    expect(pending.status!.allocatedResources).toEqual({ storage: '2Gi' });
    const conditions = pending.status!.conditions ?? [];
    // As in Go, the Resizing condition stays beside FileSystemResizePending until kubelet is done.
    expect(conditions.map((c) => c.type).sort()).toEqual(['FileSystemResizePending', 'Resizing']);
    expect(conditions.find((c) => c.type === 'FileSystemResizePending')).toMatchObject({ status: 'True', message: FS_RESIZE_PENDING });
    expect(pending.metadata?.annotations?.['volume.kubernetes.io/node-expansion-not-required']).toBeUndefined();
    expect((await kit.getPv(pv)).spec!.capacity).toEqual({ storage: '2Gi' });
    expect(await backendSize(NODE_STEP, handle)).toBe(2n * GiB);
    expect(await kit.waitForEvent('node-step', (e) => e.reason === 'FileSystemResizeRequired', 'FileSystemResizeRequired')).toMatchObject({
      type: 'Normal',
      message: 'Require file system resize of volume on node',
    });

    // A bigger request while kubelet's expansion is pending: the resizer looks and leaves it.
    const log = driver(NODE_STEP).resizer!.logFile;
    const decision = 'node expansion to 2Gi is NodeResizePending';
    const seen = logLines(log, decision).length;
    await kit.request('node-step', '3Gi');
    await waitFor('resizer decided to wait for kubelet', () => logLines(log, decision).some((l, i) => i >= seen && l.includes(`${NS}/node-step`)), { timeoutMs: 30_000 });
    const after = await kit.getPvc('node-step');
    expect(after.status!.allocatedResources).toEqual({ storage: '2Gi' });
    expect(after.status!.allocatedResourceStatuses).toEqual({ storage: 'NodeResizePending' });
    expect((await kit.getPv(pv)).spec!.capacity).toEqual({ storage: '2Gi' });
    expect(await backendSize(NODE_STEP, handle)).toBe(2n * GiB);
  });

  it('offline-only plugin: refused while published for a pod, no further calls while the pod exists, called again once it is gone', async () => {
    const { pv } = await csiClaim(OFFLINE, 'offline');
    await kit.pod('offline-user', 'node-3', 'offline');
    await waitFor('volume attached by our attacher', async () => (await kit.volumeAttachmentFor(pv))?.status?.attached === true);

    await kit.request('offline', '2Gi');
    const refused = await kit.waitForEvent('offline', (e) => e.reason === 'VolumeResizeFailed' && /FailedPrecondition/.test(e.message ?? ''), 'FailedPrecondition');
    expect(refused.message).toContain('volume is published and online volume expansion is not supported');
    const gateMessage = `Unable to expand ${NS}/offline because CSI driver ${OFFLINE} only supports offline expansion and volume is currently in-use`;
    const gate = await kit.waitForEvent('offline', (e) => e.message === gateMessage, 'in-use warning');
    expect(gate).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed' });
    const callsAtGate = await expandCallsMade(offlineMetricsPort);
    expect(callsAtGate).toBeGreaterThan(0);
    await waitFor('gate hit three times', async () => (await kit.eventCount('offline', (e) => e.message === gateMessage)) >= 3, { timeoutMs: 30_000 });
    expect(await expandCallsMade(offlineMetricsPort)).toBe(callsAtGate);
    expect((await kit.getPv(pv)).spec!.capacity).toEqual({ storage: '1Gi' });

    // The pod is gone: the gate lifts and the driver is asked again.
    await kit.deletePod('offline-user');
    await waitFor('a new ControllerExpandVolume call', async () => (await expandCallsMade(offlineMetricsPort)) > callsAtGate, { timeoutMs: 30_000 });
  });

  it('an in-tree AWS EBS PV migrated to CSI: kube-controller-manager names the driver in storage-resizer, and its resizer expands it', async () => {
    const handle = await backendVolume(EBS, 'in-tree');
    const pv = `${NS}-in-tree`;
    await kit.boundClaim({
      name: 'in-tree',
      pv,
      driver: EBS,
      handle,
      storageClassName: SC,
      source: { awsElasticBlockStore: { volumeID: handle, fsType: 'ext4' } },
    });
    await kit.request('in-tree', '2Gi');
    const handed = await waitFor('storage-resizer annotation', async () => {
      const c = await kit.getPvc('in-tree');
      return c.metadata?.annotations?.['volume.kubernetes.io/storage-resizer'] === EBS ? c : undefined;
    });
    expect(handed.metadata!.annotations!['volume.kubernetes.io/storage-resizer']).toBe(EBS);
    expect(await kit.waitForEvent('in-tree', (e) => e.reason === 'ExternalExpanding', 'ExternalExpanding')).toMatchObject({
      type: 'Normal',
      message: 'CSI migration enabled for kubernetes.io/aws-ebs; waiting for external resizer to expand the pvc',
    });
    const done = await waitFor('claim capacity 2Gi', async () => {
      const c = await kit.getPvc('in-tree');
      return c.status?.capacity?.storage === '2Gi' ? c : undefined;
    });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    const updated = await kit.getPv(pv);
    expect(updated.spec!.capacity).toEqual({ storage: '2Gi' });
    // Still the in-tree PV: only its capacity changed.
    expect(updated.spec!.awsElasticBlockStore).toMatchObject({ volumeID: handle });
    expect(updated.spec!.csi).toBeUndefined();
    expect(await backendSize(EBS, handle)).toBe(2n * GiB);
  });
});
