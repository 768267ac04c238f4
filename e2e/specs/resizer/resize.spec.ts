// csi-resizer (ours, from packages/resizer/dist) against the real control plane and the
// Kubernetes e2e CSI mock driver: a statically provisioned, bound PVC is expanded by editing its
// request; a request the driver cannot be asked for gets a clear error and is recovered by
// lowering the request; VolumeAttributesClass changes go through ControllerModifyVolume.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createKubeClient,
  CsiConnection,
  type KubeClient,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';

const NS = 'resizer-e2e';
const SC = 'resizer-e2e-expandable';
const GOLD = 'resizer-e2e-gold';
const SILVER = 'resizer-e2e-silver';
const GiB = 1024n ** 3n;

let client: KubeClient;
let csi: CsiConnection;
let resizer: ManagedProcess | undefined;
const volumeIds: string[] = [];
const pvNames: string[] = [];

interface CoreEvent {
  reason?: string;
  type?: string;
  message?: string;
  source?: { component?: string };
  involvedObject?: { name?: string };
}

const pvcPath = (name = '') => `/api/v1/namespaces/${NS}/persistentvolumeclaims${name ? `/${name}` : ''}`;
const getPvc = (name: string) => client.request<PersistentVolumeClaim>({ method: 'GET', path: pvcPath(name) });
const getPv = (name: string) => client.request<PersistentVolume>({ method: 'GET', path: `/api/v1/persistentvolumes/${name}` });

async function events(claim: string): Promise<CoreEvent[]> {
  const list = await client.request<{ items: CoreEvent[] }>({
    method: 'GET',
    path: `/api/v1/namespaces/${NS}/events`,
    query: { fieldSelector: `involvedObject.name=${claim}` },
  });
  return list.items;
}

async function waitForEvent(claim: string, reason: string): Promise<CoreEvent> {
  return waitFor(`event ${reason} on ${claim}`, async () => (await events(claim)).find((e) => e.reason === reason), { timeoutMs: 60_000 });
}

function patchPvc(name: string, patch: Record<string, unknown>): Promise<PersistentVolumeClaim> {
  return client.request<PersistentVolumeClaim>({ method: 'PATCH', path: pvcPath(name), body: patch, contentType: 'application/merge-patch+json' });
}

/** A backend volume made with CreateVolume, a PV for it pre-bound to the claim, and the claim. */
async function boundClaim(name: string, size = '1Gi'): Promise<void> {
  const { volume } = await csi.controller.createVolume({
    name: `resizer-e2e-${name}-${Date.now()}`,
    capacity_range: { required_bytes: GiB },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  volumeIds.push(volume!.volume_id);
  const pvName = `resizer-e2e-${name}`;
  pvNames.push(pvName);
  await client.request({
    method: 'POST',
    path: '/api/v1/persistentvolumes',
    body: {
      metadata: { name: pvName },
      spec: {
        capacity: { storage: size },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: SC,
        claimRef: { namespace: NS, name },
        csi: { driver: clusterInfo().driverName, volumeHandle: volume!.volume_id, fsType: 'ext4' },
      },
    },
  });
  await client.request({
    method: 'POST',
    path: pvcPath(),
    body: {
      metadata: { name, namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: SC, volumeName: pvName, resources: { requests: { storage: size } } },
    },
  });
  await waitFor(`claim ${name} Bound`, async () => (await getPvc(name)).status?.phase === 'Bound', { timeoutMs: 60_000 });
}

beforeAll(async () => {
  const info = clusterInfo();
  client = createKubeClient({ kubeconfig: info.kubeconfig, qps: 50, burst: 100 });
  await clusterKube().ensureCsiDriver(info.driverName);
  csi = new CsiConnection({ address: info.csiEndpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
  await csi.start();
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: NS } } });
  await client.request({
    method: 'POST',
    path: '/apis/storage.k8s.io/v1/storageclasses',
    body: { metadata: { name: SC }, provisioner: info.driverName, allowVolumeExpansion: true, volumeBindingMode: 'Immediate', reclaimPolicy: 'Retain' },
  });
  await boundClaim('data');
  resizer = await startSidecarChecked(info, 'resizer', { logName: 'csi-resizer-e2e.log' });
}, 120_000);

afterAll(async () => {
  await resizer?.stop();
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  await quiet(client.request({ method: 'DELETE', path: `/api/v1/namespaces/${NS}` }));
  await waitFor('namespace gone', async () => {
    try {
      await client.request({ method: 'GET', path: `/api/v1/namespaces/${NS}` });
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 60_000 }).catch(() => undefined);
  for (const pv of pvNames) await quiet(client.request({ method: 'DELETE', path: `/api/v1/persistentvolumes/${pv}` }));
  for (const vac of [GOLD, SILVER]) await quiet(client.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/volumeattributesclasses/${vac}` }));
  await quiet(client.request({ method: 'DELETE', path: `/apis/storage.k8s.io/v1/storageclasses/${SC}` }));
  for (const id of volumeIds) await quiet(csi.controller.deleteVolume({ volume_id: id }));
  csi?.dispose();
  client?.dispose();
}, 120_000);

describe('csi-resizer against the mock driver', () => {
  it('expands a bound claim when its request grows', async () => {
    await patchPvc('data', { spec: { resources: { requests: { storage: '2Gi' } } } });
    const pv = await waitFor('PV capacity 2Gi', async () => {
      const v = await getPv('resizer-e2e-data');
      return v.spec?.capacity?.storage === '2Gi' ? v : undefined;
    });
    const pvc = await waitFor('claim capacity 2Gi', async () => {
      const c = await getPvc('data');
      return c.status?.capacity?.storage === '2Gi' ? c : undefined;
    });
    // What the resizer leaves with a driver that needs no node step.
    expect(pvc.status!.allocatedResources).toEqual({ storage: '2Gi' });
    expect(pvc.status!.allocatedResourceStatuses).toBeUndefined();
    expect(pvc.status!.conditions ?? []).toEqual([]);
    expect(pvc.metadata!.annotations!['volume.kubernetes.io/node-expansion-not-required']).toBe('true');
    // The backend volume really grew.
    const { volume } = await csi.controller.controllerGetVolume({ volume_id: pv.spec!.csi!.volumeHandle });
    expect(volume!.capacity_bytes).toBe(2n * GiB);

    const resizing = await waitForEvent('data', 'Resizing');
    expect(resizing).toMatchObject({ type: 'Normal', message: 'External resizer is resizing volume resizer-e2e-data' });
    expect(resizing.source?.component).toBe(`external-resizer ${clusterInfo().driverName}`);
    expect(await waitForEvent('data', 'VolumeResizeSuccessful')).toMatchObject({ type: 'Normal', message: 'Resize volume succeeded' });
  });

  it('an absurd size gets a clear error on its claim, other claims are still served, and lowering the request recovers', async () => {
    await boundClaim('huge');
    await boundClaim('other');
    // Far beyond what fits the int64 of CSI's capacity_range.
    await patchPvc('huge', { spec: { resources: { requests: { storage: '1e30' } } } });
    const failed = await waitFor('huge claim infeasible', async () => {
      const c = await getPvc('huge');
      return c.status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible' ? c : undefined;
    });
    const condition = failed.status!.conditions!.find((c) => c.type === 'ControllerResizeError')!;
    expect(condition.status).toBe('True');
    expect(condition.message).toMatch(/^failed to expand pvc with requested size 1e30 cannot be sent to the CSI driver/);
    expect(failed.status!.allocatedResources).toEqual({ storage: '1e30' });
    const warning = await waitForEvent('huge', 'VolumeResizeFailed');
    expect(warning.type).toBe('Warning');
    expect((await getPv('resizer-e2e-huge')).spec!.capacity).toEqual({ storage: '1Gi' });

    // The sidecar keeps serving everything else.
    await patchPvc('other', { spec: { resources: { requests: { storage: '3Gi' } } } });
    await waitFor('other claim expanded', async () => (await getPvc('other')).status?.capacity?.storage === '3Gi');

    // Shrink back: the user lowers the request (allowed down to status.capacity) and the
    // expansion goes through with the new size at once, not after the slow-retry period.
    await patchPvc('huge', { spec: { resources: { requests: { storage: '3Gi' } } } });
    const recovered = await waitFor('huge claim recovered', async () => {
      const c = await getPvc('huge');
      return c.status?.capacity?.storage === '3Gi' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(recovered.status!.allocatedResources).toEqual({ storage: '3Gi' });
    expect(recovered.status!.allocatedResourceStatuses).toBeUndefined();
    expect(recovered.status!.conditions ?? []).toEqual([]);
    expect((await getPv('resizer-e2e-huge')).spec!.capacity).toEqual({ storage: '3Gi' });
  });

  it('modifies a volume through its VolumeAttributesClass, waiting Pending while the class is missing', async () => {
    const driver = clusterInfo().driverName;
    await client.request({
      method: 'POST',
      path: '/apis/storage.k8s.io/v1/volumeattributesclasses',
      body: { metadata: { name: GOLD }, driverName: driver, parameters: { iops: '3000' } },
    });
    await patchPvc('data', { spec: { volumeAttributesClassName: GOLD } });
    const modified = await waitFor('claim uses gold', async () => {
      const c = await getPvc('data');
      return c.status?.currentVolumeAttributesClassName === GOLD ? c : undefined;
    });
    expect(modified.status!.modifyVolumeStatus).toBeUndefined();
    expect((modified.status!.conditions ?? []).filter((c) => c.type === 'ModifyingVolume' || c.type === 'ModifyVolumeError')).toEqual([]);
    expect((await getPv('resizer-e2e-data')).spec!.volumeAttributesClassName).toBe(GOLD);
    expect(await waitForEvent('data', 'VolumeModify')).toMatchObject({ type: 'Normal', message: `external resizer is modifying volume data with vac ${GOLD}` });
    await waitForEvent('data', 'VolumeModifySuccessful');

    // A class that does not exist yet: Pending with a warning; picked up when it appears.
    await patchPvc('data', { spec: { volumeAttributesClassName: SILVER } });
    await waitFor('claim modify Pending', async () => (await getPvc('data')).status?.modifyVolumeStatus?.status === 'Pending');
    const missing = await waitFor('VAC missing warning', async () => (await events('data')).find((e) => e.reason === 'VolumeModifyFailed'));
    expect(missing).toMatchObject({ type: 'Warning', message: `VAC "${SILVER}" does not exist.` });
    await client.request({
      method: 'POST',
      path: '/apis/storage.k8s.io/v1/volumeattributesclasses',
      body: { metadata: { name: SILVER }, driverName: driver, parameters: { iops: '1000' } },
    });
    await waitFor('claim uses silver', async () => (await getPvc('data')).status?.currentVolumeAttributesClassName === SILVER, { timeoutMs: 30_000 });
    expect((await getPv('resizer-e2e-data')).spec!.volumeAttributesClassName).toBe(SILVER);
  });
});
