// Offline-only expansion with the in-use gate (--handle-volume-inuse-error), end to end: a pod
// scheduled on node-1 makes kube-controller-manager's attach/detach controller create a
// VolumeAttachment, our attacher publishes the volume, the driver refuses to expand a published
// volume (FailedPrecondition), our resizer then stops asking while a pod that is not terminated
// uses the claim, and finishes once the pod is deleted (KCM deletes the VolumeAttachment, our
// attacher unpublishes). Pods never run here: a scheduled, Pending pod counts as using the claim,
// as in the Go resizer (only Succeeded/Failed pods do not), and no kubelet is needed.
//
// The plugin is the shared FakeCsiPlugin under its own driver name, advertising OFFLINE
// expansion and refusing to expand published volumes. The Kubernetes e2e mock plugin
// (--disable-online-expansion) cannot be used for the second half: its ControllerUnpublishVolume
// never clears the "controller published" mark its ControllerExpandVolume checks, so a volume
// that was attached once can never be expanded again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GrpcCode } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, grpcStatus } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { bytesOf, GiB, ResizerKit } from './resizer-kit.js';

const NS = 'resizer-offline-e2e';
const DRIVER = 'resizer-offline.csi.e2e';
const SC = 'resizer-offline-expandable';
const CLAIM = 'offline';
const PV = 'resizer-offline-data';
const HANDLE = 'vol-offline';

let kit: ResizerKit;
let plugin: FakeCsiPlugin;
let attacher: ManagedProcess | undefined;
let resizer: ManagedProcess | undefined;

const expandCalls = () => plugin.callsTo('ControllerExpandVolume').filter((c) => c.request.volume_id === HANDLE);
const gateMessage = `Unable to expand ${NS}/${CLAIM} because CSI driver ${DRIVER} only supports offline expansion and volume is currently in-use`;

beforeAll(async () => {
  const info = clusterInfo();
  kit = new ResizerKit(info, NS);
  await kit.createNamespace();
  await kit.storageClass(SC, DRIVER, true);
  plugin = await FakeCsiPlugin.start({
    driverName: DRIVER,
    pluginCapabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'OFFLINE' } }],
    store: { nodeExpansionRequired: false },
  });
  plugin.setHandler('ControllerExpandVolume', (req) => {
    const published = [...(plugin.store.get(req.volume_id)?.publications.keys() ?? [])];
    if (published.length > 0) {
      throw grpcStatus(GrpcCode.FailedPrecondition, `volume ${req.volume_id} is published to ${published.join(', ')}; it can only be expanded offline`);
    }
    return plugin.store.expand(req);
  });
  await registerDriver(info, clusterKube(), DRIVER, { attachRequired: true });
  plugin.store.seed({ volumeId: HANDLE, name: CLAIM, capacityBytes: GiB });
  await kit.boundClaim({ name: CLAIM, pv: PV, driver: DRIVER, handle: HANDLE, storageClassName: SC });
  attacher = await startSidecarChecked(info, 'attacher', {
    csiAddress: plugin.socketPath,
    logName: 'csi-attacher-resizer-offline.log',
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s'],
  });
  resizer = await startSidecarChecked(info, 'resizer', {
    csiAddress: plugin.socketPath,
    logName: 'csi-resizer-offline.log',
    extraArgs: ['--handle-volume-inuse-error=true', '--retry-interval-start=200ms', '--retry-interval-max=3s'],
  });
}, 120_000);

afterAll(async () => {
  await resizer?.stop();
  // Pods first, so that the attacher can still unpublish before it stops.
  await kit?.deletePod('user').catch(() => undefined);
  await waitFor('VolumeAttachment gone', async () => (await kit.volumeAttachmentFor(PV)) === undefined, { timeoutMs: 30_000 }).catch(() => undefined);
  await attacher?.stop();
  await kit?.cleanup();
  await unregisterDriver(clusterInfo(), clusterKube(), DRIVER);
  await plugin?.dispose();
}, 120_000);

describe('csi-resizer with an offline-only driver', () => {
  it('does not expand while a pod uses the claim, and expands once the pod is deleted', async () => {
    await kit.pod('user', 'node-1', CLAIM);
    await waitFor('volume attached by our attacher', async () => (await kit.volumeAttachmentFor(PV))?.status?.attached === true);
    expect([...plugin.store.get(HANDLE)!.publications.keys()]).toEqual([DRIVER]);

    await kit.request(CLAIM, '2Gi');
    // KCM's expand controller has no in-tree expander for a CSI volume: it leaves it to us.
    const external = await kit.waitForEvent(CLAIM, (e) => e.reason === 'ExternalExpanding', 'ExternalExpanding');
    expect(external).toMatchObject({ type: 'Normal', message: 'waiting for an external controller to expand this PVC' });

    // First attempt: the driver refuses (FailedPrecondition, a final error that is not infeasible).
    const refused = await kit.waitForEvent(CLAIM, (e) => e.reason === 'VolumeResizeFailed' && /FailedPrecondition/.test(e.message ?? ''), 'FailedPrecondition');
    expect(refused.type).toBe('Warning');
    // Then the in-use gate: no more calls while the pod exists.
    const gate = await kit.waitForEvent(CLAIM, (e) => e.message === gateMessage, 'in-use warning');
    expect(gate).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed' });
    const callsAtGate = expandCalls().length;
    expect(callsAtGate).toBeGreaterThan(0);
    expect(expandCalls().every((c) => c.outcome === 'FailedPrecondition')).toBe(true);
    // Several more syncs pass (each one emits the gate warning again) without a driver call.
    await waitFor('gate hit three times', async () => (await kit.eventCount(CLAIM, (e) => e.message === gateMessage)) >= 3, { timeoutMs: 30_000 });
    expect(expandCalls().length).toBe(callsAtGate);
    const blocked = await kit.getPvc(CLAIM);
    expect(blocked.status!.capacity).toEqual({ storage: '1Gi' });
    expect(blocked.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(blocked.status!.conditions!.find((c) => c.type === 'ControllerResizeError')!.message).toMatch(/^failed to expand pvc with rpc error: code = FailedPrecondition desc = /);
    expect((await kit.getPv(PV)).spec!.capacity).toEqual({ storage: '1Gi' });

    // The pod goes away: KCM detaches, our attacher unpublishes, the resizer expands offline.
    await kit.deletePod('user');
    const done = await waitFor('claim expanded to 2Gi', async () => {
      const c = await kit.getPvc(CLAIM);
      return c.status?.capacity?.storage === '2Gi' ? c : undefined;
    }, { timeoutMs: 90_000 });
    expect(done.status!.allocatedResources).toEqual({ storage: '2Gi' });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    expect(done.status!.conditions ?? []).toEqual([]);
    expect((await kit.getPv(PV)).spec!.capacity).toEqual({ storage: '2Gi' });
    expect(plugin.store.get(HANDLE)!.capacityBytes).toBe(2n * GiB);
    expect(plugin.store.get(HANDLE)!.publications.size).toBe(0);
    const last = expandCalls().at(-1)!;
    expect(last).toMatchObject({ outcome: 'OK' });
    expect(last.request.capacity_range?.required_bytes).toBe(bytesOf('2Gi'));
    await waitFor('VolumeAttachment gone', async () => (await kit.volumeAttachmentFor(PV)) === undefined);
    await kit.waitForEvent(CLAIM, (e) => e.reason === 'VolumeResizeSuccessful', 'VolumeResizeSuccessful');
  });
});
