// csi-provisioner's reclaim policies against the real control plane (kube-controller-manager
// releases PVs whose claims are gone) and the real Kubernetes e2e CSI mock plugin, whose
// ListVolumes shows what the backend still holds: Delete removes PV and volume; Retain keeps both
// and never puts our finalizer on the PV; a Released PV switched to Delete is then cleaned up.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME } from '../../src/harness/control-plane.js';
import { mergePatch } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { PV_FINALIZER, ProvisionerKit, sleep } from './support.js';

const NS = 'e2e-prov-reclaim';
const SC_DELETE = 'e2e-prov-reclaim-delete';
const SC_RETAIN = 'e2e-prov-reclaim-retain';

const kit = new ProvisionerKit(NS);
let provisioner: ManagedProcess | undefined;
let csi: CsiConnection | undefined;
const retainedHandles: string[] = [];

async function backendHandles(): Promise<(string | undefined)[]> {
  return (await csi!.controller.listVolumes({})).entries.map((e) => e.volume?.volume_id);
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC_DELETE, DRIVER_NAME);
  await kit.storageClass(SC_RETAIN, DRIVER_NAME, { reclaimPolicy: 'Retain' });
  csi = new CsiConnection({ address: info.csiEndpoint, onConnectionLost: () => undefined });
  await csi.start();
  provisioner = await startSidecarChecked(info, 'provisioner', {
    logName: 'csi-provisioner-reclaim.log',
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s'],
  });
});

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  await provisioner?.stop();
  // Retained volumes are the administrator's to delete: the spec is the administrator here.
  for (const id of retainedHandles) await csi?.controller.deleteVolume({ volume_id: id }).catch(() => undefined);
  csi?.dispose();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner reclaim policies', () => {
  it('Delete: deleting the claim deletes the PV and the backend volume', async () => {
    await kit.claim('deleted', SC_DELETE);
    const pv = await kit.boundPv('deleted');
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv.metadata?.finalizers).toContain(PV_FINALIZER);
    const handle = pv.spec!.csi!.volumeHandle;
    expect(await backendHandles()).toContain(handle);
    await kit.deleteClaim('deleted');
    await waitFor('PV deleted', async () => (await kit.readPv(pv.metadata!.name!)) === undefined);
    expect(await backendHandles()).not.toContain(handle);
    expect(await kit.warnings(pv.metadata!.name!, 'PersistentVolume')).toEqual([]);
  });

  it('Retain: the PV is released and kept, without our finalizer, and so is the backend volume', async () => {
    await kit.claim('retained', SC_RETAIN);
    const pv = await kit.boundPv('retained');
    const name = pv.metadata!.name!;
    const handle = pv.spec!.csi!.volumeHandle;
    retainedHandles.push(handle);
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
    expect(pv.metadata?.finalizers ?? []).not.toContain(PV_FINALIZER);
    await kit.deleteClaim('retained');
    await waitFor('PV Released', async () => (await kit.readPv(name))?.status?.phase === 'Released');
    await sleep(3000);
    expect((await kit.readPv(name))?.status?.phase).toBe('Released');
    expect(await backendHandles()).toContain(handle);
    // Deleting a retained PV removes the object only.
    await kit.kube.core.deletePersistentVolume({ name });
    await waitFor('retained PV object deleted', async () => (await kit.readPv(name)) === undefined);
    expect(await backendHandles()).toContain(handle);
  });

  it('a Released PV switched from Retain to Delete is cleaned up', async () => {
    await kit.claim('switched', SC_RETAIN);
    const pv = await kit.boundPv('switched');
    const name = pv.metadata!.name!;
    const handle = pv.spec!.csi!.volumeHandle;
    await kit.deleteClaim('switched');
    await waitFor('PV Released', async () => (await kit.readPv(name))?.status?.phase === 'Released');
    await kit.kube.core.patchPersistentVolume({ name, body: { spec: { persistentVolumeReclaimPolicy: 'Delete' } } }, mergePatch);
    await waitFor('PV deleted', async () => (await kit.readPv(name)) === undefined);
    expect(await backendHandles()).not.toContain(handle);
  });
});
