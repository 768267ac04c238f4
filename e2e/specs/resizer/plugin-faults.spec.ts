// csi-resizer (ours) against the real control plane and a plugin that misbehaves on purpose:
// the shared FakeCsiPlugin (packages/shared/src/csi/testing/fake-plugin.ts), served by this
// spec under its own driver name and registered like a real one (CSIDriver + every CSINode).
// The Kubernetes e2e mock plugin cannot be told to answer InvalidArgument, hang, answer 0 bytes
// or refuse a ModifyVolume, so these faults are injected per volume; every other call goes to
// the fake's ordinary in-memory volume store. Claims are bound statically (PV + PVC).
//
// The resizer runs with --timeout=1s and a short backoff (200ms → 5s, also the slow-retry
// period of infeasible claims) so that the whole file stays well under a minute.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GrpcCode } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, grpcStatus, type FakeCallContext, type FakeRequest, type FakeResponse } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { bytesOf, GiB, ResizerKit } from './resizer-kit.js';

const NS = 'resizer-faults-e2e';
const DRIVER = 'resizer-faults.csi.e2e';
const SC = 'resizer-faults-expandable';
const GOLD = 'resizer-faults-gold';
const BAD = 'resizer-faults-too-fast';
/** The fake refuses a VolumeAttributesClass asking for more IOPS than this. */
const MAX_IOPS = 10_000;

type ExpandRequest = FakeRequest<'ControllerExpandVolume'>;
type ExpandResponse = FakeResponse<'ControllerExpandVolume'>;
type ExpandBehaviour = (req: ExpandRequest, ctx: FakeCallContext) => ExpandResponse | Promise<ExpandResponse>;

let kit: ResizerKit;
let plugin: FakeCsiPlugin;
let resizer: ManagedProcess | undefined;
/** Per-volume fault: only the volume a test owns misbehaves, whatever else the resizer retries. */
const expandFaults = new Map<string, ExpandBehaviour>();

const handleOf = (claim: string) => `vol-${claim}`;
const expandCalls = (claim: string) => plugin.callsTo('ControllerExpandVolume').filter((c) => c.request.volume_id === handleOf(claim));
const modifyCalls = (claim: string) => plugin.callsTo('ControllerModifyVolume').filter((c) => c.request.volume_id === handleOf(claim));

/** A 1Gi volume in the fake's store and a claim bound to it. */
async function claim(name: string): Promise<void> {
  plugin.store.seed({ volumeId: handleOf(name), name, capacityBytes: GiB });
  await kit.boundClaim({ name, pv: `resizer-faults-${name}`, driver: DRIVER, handle: handleOf(name), storageClassName: SC });
}

/** Holds every expansion of one volume until released; a call the client gives up on ends Canceled. */
function holdExpansions(claimName: string): { release(): void } {
  let released = false;
  const waiting = new Set<() => void>();
  expandFaults.set(handleOf(claimName), async (req, ctx) => {
    if (!released) {
      await new Promise<void>((resolve, reject) => {
        waiting.add(resolve);
        ctx.signal.addEventListener('abort', () => {
          waiting.delete(resolve);
          reject(grpcStatus(GrpcCode.Canceled, 'call abandoned by the client while the plugin was stuck'));
        }, { once: true });
      });
    }
    return plugin.store.expand(req);
  });
  return {
    release() {
      released = true;
      for (const w of waiting) w();
      waiting.clear();
    },
  };
}

beforeAll(async () => {
  const info = clusterInfo();
  kit = new ResizerKit(info, NS);
  await kit.createNamespace();
  await kit.storageClass(SC, DRIVER, true);
  plugin = await FakeCsiPlugin.start({ driverName: DRIVER, store: { nodeExpansionRequired: false } });
  plugin.setHandler('ControllerExpandVolume', (req, ctx) => {
    const fault = expandFaults.get(req.volume_id);
    return fault ? fault(req, ctx) : plugin.store.expand(req);
  });
  plugin.setHandler('ControllerModifyVolume', (req) => {
    const iops = Number(req.mutable_parameters.iops ?? '0');
    if (iops > MAX_IOPS) throw grpcStatus(GrpcCode.InvalidArgument, `iops ${iops} is above this driver's maximum of ${MAX_IOPS}`);
    return plugin.store.modify(req);
  });
  await registerDriver(info, clusterKube(), DRIVER, { attachRequired: false });
  await kit.volumeAttributesClass(GOLD, DRIVER, { iops: '3000' });
  await kit.volumeAttributesClass(BAD, DRIVER, { iops: '99999' });
  resizer = await startSidecarChecked(info, 'resizer', {
    csiAddress: plugin.socketPath,
    logName: 'csi-resizer-faults.log',
    extraArgs: ['--timeout=1s', '--retry-interval-start=200ms', '--retry-interval-max=5s'],
  });
}, 120_000);

afterAll(async () => {
  await resizer?.stop();
  await kit?.cleanup();
  await unregisterDriver(clusterInfo(), clusterKube(), DRIVER);
  await plugin?.dispose();
}, 120_000);

describe('csi-resizer with a plugin that fails on purpose', () => {
  it('InvalidArgument marks the expansion infeasible; lowering the request expands to the new size', async () => {
    await claim('invalid');
    const limit = 4n * GiB;
    expandFaults.set(handleOf('invalid'), (req) => {
      const wanted = req.capacity_range?.required_bytes ?? 0n;
      if (wanted > limit) throw grpcStatus(GrpcCode.InvalidArgument, `volume cannot grow beyond ${limit} bytes, asked for ${wanted}`);
      return plugin.store.expand(req);
    });

    await kit.request('invalid', '10Gi');
    const failed = await waitFor('claim infeasible', async () => {
      const c = await kit.getPvc('invalid');
      return c.status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible' ? c : undefined;
    });
    expect(failed.status!.allocatedResources).toEqual({ storage: '10Gi' });
    const error = failed.status!.conditions!.find((c) => c.type === 'ControllerResizeError');
    expect(error).toMatchObject({ status: 'True' });
    expect(error!.message).toBe(`failed to expand pvc with rpc error: code = InvalidArgument desc = volume cannot grow beyond ${limit} bytes, asked for ${bytesOf('10Gi')}`);
    const warning = await kit.waitForEvent('invalid', (e) => e.reason === 'VolumeResizeFailed', 'VolumeResizeFailed');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain('InvalidArgument');
    expect((await kit.getPv('resizer-faults-invalid')).spec!.capacity).toEqual({ storage: '1Gi' });
    const callsBefore = expandCalls('invalid').length;
    expect(callsBefore).toBeGreaterThan(0);
    expect(expandCalls('invalid').every((c) => c.request.capacity_range?.required_bytes === bytesOf('10Gi'))).toBe(true);

    // The user lowers the request (still above status.capacity, so the apiserver allows it).
    await kit.request('invalid', '3Gi');
    const done = await waitFor('claim expanded to 3Gi', async () => {
      const c = await kit.getPvc('invalid');
      return c.status?.capacity?.storage === '3Gi' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(done.status!.allocatedResources).toEqual({ storage: '3Gi' });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    expect(done.status!.conditions ?? []).toEqual([]);
    expect((await kit.getPv('resizer-faults-invalid')).spec!.capacity).toEqual({ storage: '3Gi' });
    expect(plugin.store.get(handleOf('invalid'))!.capacityBytes).toBe(3n * GiB);
    // Once the sidecar asked for the new size it never asked for 10Gi again. One retry at 10Gi may
    // still slip in between our count and the sidecar seeing the lowered request (its backoff runs
    // on its own clock), so the sequence is: at most one 10Gi, then only 3Gi, ending in success.
    const after = expandCalls('invalid').slice(callsBefore).map((c) => ({ bytes: c.request.capacity_range?.required_bytes, outcome: c.outcome }));
    const firstNew = after.findIndex((c) => c.bytes === bytesOf('3Gi'));
    expect(firstNew).toBeGreaterThanOrEqual(0);
    expect(firstNew).toBeLessThanOrEqual(1);
    expect(after.slice(0, firstNew).every((c) => c.bytes === bytesOf('10Gi'))).toBe(true);
    expect(after.slice(firstNew).map((c) => c.bytes)).toEqual(after.slice(firstNew).map(() => bytesOf('3Gi')));
    expect(after.at(-1)!.outcome).toBe('OK');
  });

  it('a plugin hanging past --timeout: retried with the same size, a lowered request is not used until the plugin answers', async () => {
    await claim('hang');
    const stuck = holdExpansions('hang');
    await kit.request('hang', '3Gi');

    // The call outlives --timeout=1s: DeadlineExceeded, the outcome is unknown (not final).
    await kit.waitForEvent('hang', (e) => e.reason === 'VolumeResizeFailed' && /DeadlineExceeded/.test(e.message ?? ''), 'VolumeResizeFailed DeadlineExceeded');
    const uncertain = await kit.getPvc('hang');
    expect(uncertain.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(uncertain.status!.allocatedResources).toEqual({ storage: '3Gi' });
    // Not final: no ControllerResizeError is recorded for a timeout.
    expect((uncertain.status!.conditions ?? []).map((c) => c.type)).toEqual(['Resizing']);

    // The user lowers the request while the driver may still be expanding to 3Gi.
    await kit.request('hang', '2Gi');
    const seen = expandCalls('hang').length;
    await waitFor('two more attempts after the lowering', () => expandCalls('hang').length >= seen + 2, { timeoutMs: 30_000 });
    expect(expandCalls('hang').map((c) => c.request.capacity_range?.required_bytes)).toEqual(expandCalls('hang').map(() => bytesOf('3Gi')));
    const still = await kit.getPvc('hang');
    expect(still.status!.allocatedResources).toEqual({ storage: '3Gi' });
    expect(still.status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect((await kit.getPv('resizer-faults-hang')).spec!.capacity).toEqual({ storage: '1Gi' });

    // The plugin recovers: the size it was asked for all along is finished.
    stuck.release();
    const done = await waitFor('claim expanded to 3Gi', async () => {
      const c = await kit.getPvc('hang');
      return c.status?.capacity?.storage === '3Gi' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(done.spec!.resources!.requests).toEqual({ storage: '2Gi' });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    expect(done.status!.conditions ?? []).toEqual([]);
    expect((await kit.getPv('resizer-faults-hang')).spec!.capacity).toEqual({ storage: '3Gi' });
    expect(plugin.store.get(handleOf('hang'))!.capacityBytes).toBe(3n * GiB);
    const calls = expandCalls('hang');
    expect(calls.every((c) => c.request.capacity_range?.required_bytes === bytesOf('3Gi'))).toBe(true);
    expect(calls.at(-1)!.outcome).toBe('OK');
    expect(calls.slice(0, -1).every((c) => c.outcome === 'Canceled')).toBe(true);
  });

  it('a 0-byte answer is an infeasible failure that leaves the PV alone, and the claim converges once the plugin answers properly', async () => {
    await claim('zero');
    expandFaults.set(handleOf('zero'), () => ({ capacity_bytes: 0n, node_expansion_required: false }));
    await kit.request('zero', '2Gi');
    const failed = await waitFor('claim infeasible', async () => {
      const c = await kit.getPvc('zero');
      return c.status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible' ? c : undefined;
    });
    const error = failed.status!.conditions!.find((c) => c.type === 'ControllerResizeError');
    expect(error!.message).toBe(
      `failed to expand pvc with CSI driver ${DRIVER} answered ControllerExpandVolume for volume ${handleOf('zero')} with capacity_bytes 0; ` +
        `the CSI spec requires the capacity after expansion (at least the requested ${bytesOf('2Gi')} bytes)`,
    );
    const warning = await kit.waitForEvent('zero', (e) => e.reason === 'VolumeResizeFailed', 'VolumeResizeFailed');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain('capacity_bytes 0');
    // The PV keeps its size: nothing was written from the bogus answer (Go's #226 loop).
    expect((await kit.getPv('resizer-faults-zero')).spec!.capacity).toEqual({ storage: '1Gi' });

    // The driver is fixed; the slow retry (--retry-interval-max) finishes the expansion.
    expandFaults.delete(handleOf('zero'));
    const done = await waitFor('claim expanded to 2Gi', async () => {
      const c = await kit.getPvc('zero');
      return c.status?.capacity?.storage === '2Gi' ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(done.status!.allocatedResourceStatuses).toBeUndefined();
    expect(done.status!.conditions ?? []).toEqual([]);
    expect((await kit.getPv('resizer-faults-zero')).spec!.capacity).toEqual({ storage: '2Gi' });
  });

  it('ModifyVolume: InvalidArgument makes the change Infeasible, and going back to the current class rolls the volume back', async () => {
    await claim('modify');
    await kit.patchPvc('modify', { spec: { volumeAttributesClassName: GOLD } });
    await waitFor('claim uses gold', async () => (await kit.getPvc('modify')).status?.currentVolumeAttributesClassName === GOLD);
    expect(plugin.store.get(handleOf('modify'))!.mutableParameters).toEqual({ iops: '3000' });

    await kit.patchPvc('modify', { spec: { volumeAttributesClassName: BAD } });
    const infeasible = await waitFor('modify Infeasible', async () => {
      const c = await kit.getPvc('modify');
      return c.status?.modifyVolumeStatus?.status === 'Infeasible' ? c : undefined;
    });
    expect(infeasible.status!.modifyVolumeStatus).toEqual({ status: 'Infeasible', targetVolumeAttributesClassName: BAD });
    expect(infeasible.status!.currentVolumeAttributesClassName).toBe(GOLD);
    const conditions = infeasible.status!.conditions ?? [];
    expect(conditions.find((c) => c.type === 'ModifyingVolume')).toMatchObject({ status: 'True', message: `Modifying volume to "${BAD}" failed. Waiting for retry.` });
    expect(conditions.find((c) => c.type === 'ModifyVolumeError')).toMatchObject({
      status: 'True',
      reason: 'InvalidArgument',
      message: `iops 99999 is above this driver's maximum of ${MAX_IOPS}`,
    });
    const warning = await kit.waitForEvent('modify', (e) => e.reason === 'VolumeModifyFailed', 'VolumeModifyFailed');
    expect(warning).toMatchObject({ type: 'Warning', message: `rpc error: code = InvalidArgument desc = iops 99999 is above this driver's maximum of ${MAX_IOPS}` });
    expect((await kit.getPv('resizer-faults-modify')).spec!.volumeAttributesClassName).toBe(GOLD);
    expect(plugin.store.get(handleOf('modify'))!.mutableParameters).toEqual({ iops: '3000' });

    // Back to the class the volume has: a rollback call with that class's parameters.
    const before = modifyCalls('modify').length;
    await kit.patchPvc('modify', { spec: { volumeAttributesClassName: GOLD } });
    const rolledBack = await waitFor('modify status cleared', async () => {
      const c = await kit.getPvc('modify');
      return c.status?.modifyVolumeStatus === undefined ? c : undefined;
    }, { timeoutMs: 30_000 });
    expect(rolledBack.status!.currentVolumeAttributesClassName).toBe(GOLD);
    expect((rolledBack.status!.conditions ?? []).filter((c) => c.type === 'ModifyingVolume' || c.type === 'ModifyVolumeError')).toEqual([]);
    const rollbackCalls = modifyCalls('modify').slice(before);
    expect(rollbackCalls.length).toBeGreaterThan(0);
    expect(rollbackCalls.at(-1)!.request.mutable_parameters).toEqual({ iops: '3000' });
    expect(rollbackCalls.at(-1)!.outcome).toBe('OK');
    expect((await kit.getPv('resizer-faults-modify')).spec!.volumeAttributesClassName).toBe(GOLD);
  });

  it('ModifyVolume: an infeasible first class is cancelled by going back to no class', async () => {
    await claim('cancel');
    await kit.patchPvc('cancel', { spec: { volumeAttributesClassName: BAD } });
    await waitFor('modify Infeasible', async () => (await kit.getPvc('cancel')).status?.modifyVolumeStatus?.status === 'Infeasible');

    await kit.patchPvc('cancel', { spec: { volumeAttributesClassName: null } });
    const canceled = await kit.waitForEvent('cancel', (e) => e.reason === 'VolumeModifyCanceled', 'VolumeModifyCanceled');
    expect(canceled).toMatchObject({ type: 'Normal', message: 'Cancelled modify.' });
    const c = await waitFor('ModifyingVolume removed', async () => {
      const x = await kit.getPvc('cancel');
      return (x.status?.conditions ?? []).some((k) => k.type === 'ModifyingVolume') ? undefined : x;
    });
    expect(c.status!.currentVolumeAttributesClassName ?? undefined).toBeUndefined();
    expect((await kit.getPv('resizer-faults-cancel')).spec!.volumeAttributesClassName ?? undefined).toBeUndefined();
    expect(plugin.store.get(handleOf('cancel'))!.mutableParameters).toEqual({});
  });
});
