import { describe, expect, it } from '@jest/globals';
import { CsiCallError, discardLogger, FakeClock, GrpcCode, MemoryEventRecorder } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim, VolumeAttributesClass } from '@csi-sidecars-ts/shared';
import type { VolumeModifier } from '../resizer/volume-modifier.js';
import { boundPair, FakeInformer, InMemoryResizerApi, TEST_DRIVER } from '../testing/fakes.js';
import { ModifyController } from './modify-controller.js';

const MODIFY = '/csi.v1.Controller/ControllerModifyVolume';
const KEY = 'ns/claim';

class ScriptedModifier implements VolumeModifier {
  readonly driverName = TEST_DRIVER;
  readonly calls: { volume: string; parameters: Record<string, string> }[] = [];
  readonly script: Error[] = [];

  async modify(pv: PersistentVolume, parameters: Record<string, string>): Promise<void> {
    this.calls.push({ volume: pv.metadata?.name ?? '', parameters });
    const next = this.script.shift();
    if (next) throw next;
  }
}

const vac = (name: string, iops: string): VolumeAttributesClass => ({
  metadata: { name, resourceVersion: '1' },
  driverName: TEST_DRIVER,
  parameters: { iops },
});

function setup(opts: { spec?: string; current?: string; modifyStatus?: { status: string; targetVolumeAttributesClassName?: string }; extraModifyMetadata?: boolean; conditions?: { type: string; status: string }[] } = {}) {
  const clock = new FakeClock();
  const claims = new FakeInformer<PersistentVolumeClaim>();
  const volumes = new FakeInformer<PersistentVolume>();
  const classes = new FakeInformer<VolumeAttributesClass>();
  classes.seed(vac('silver', '3000'));
  classes.seed(vac('gold', '4567'));
  const api = new InMemoryResizerApi();
  api.claimInformer = claims;
  api.volumeInformer = volumes;
  const events = new MemoryEventRecorder();
  const modifier = new ScriptedModifier();
  const { pvc, pv } = boundPair({ request: '1Gi', capacity: '1Gi' });
  if (opts.spec !== undefined) pvc.spec!.volumeAttributesClassName = opts.spec;
  if (opts.current !== undefined) pvc.status!.currentVolumeAttributesClassName = opts.current;
  if (opts.modifyStatus) pvc.status!.modifyVolumeStatus = opts.modifyStatus;
  if (opts.conditions) pvc.status!.conditions = opts.conditions;
  if (opts.current !== undefined) pv.spec!.volumeAttributesClassName = opts.current;
  api.addVolume(pv);
  api.addClaim(pvc);
  const ctrl = new ModifyController(
    { modifier, api, claims, volumes, classes, events, clock, logger: discardLogger },
    { workers: 1, resyncPeriodMs: 0, retryIntervalStartMs: 1000, retryIntervalMaxMs: 300_000, extraModifyMetadata: opts.extraModifyMetadata ?? false },
  );
  return {
    clock,
    api,
    classes,
    claims,
    events,
    modifier,
    ctrl,
    pvc: () => api.claim(KEY),
    pv: () => api.volume('pv-claim'),
    reasons: () => events.for('claim', 'ns').map((e) => e.reason),
    last: () => events.for('claim', 'ns').at(-1),
    setSpec: (name: string | undefined) => api.editClaim(KEY, (c) => (c.spec!.volumeAttributesClassName = name)),
    condition: (type: string) => api.claim(KEY).status?.conditions?.find((c) => c.type === type),
  };
}

const failure = (code: number, details: string) => new CsiCallError(MODIFY, code, details);

describe('ModifyController', () => {
  it('does nothing when the claim already has its class', async () => {
    const t = setup({ spec: 'silver', current: 'silver' });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([]);
    expect(t.api.writes).toEqual([]);
  });

  it('modifies to the new class: InProgress, ControllerModifyVolume with its parameters, then PV and PVC updated', async () => {
    const t = setup({ spec: 'gold', current: 'silver' });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([{ volume: 'pv-claim', parameters: { iops: '4567' } }]);
    const inProgress = t.api.writes[0]!;
    expect(inProgress).toMatchObject({ kind: 'pvc-status', precondition: true });
    expect(inProgress.patch).toMatchObject({
      status: {
        modifyVolumeStatus: { status: 'InProgress', targetVolumeAttributesClassName: 'gold' },
        conditions: [{ type: 'ModifyingVolume', status: 'True', message: 'Modifying volume to "gold" is in progress.' }],
      },
    });
    // PV first, then the claim.
    expect(t.api.writes.slice(1).map((w) => w.kind)).toEqual(['pv', 'pvc-status']);
    expect(t.pv().spec!.volumeAttributesClassName).toBe('gold');
    const status = t.pvc().status!;
    expect(status.currentVolumeAttributesClassName).toBe('gold');
    expect(status.modifyVolumeStatus).toBeUndefined();
    expect(status.conditions ?? []).toEqual([]);
    expect(t.reasons()).toEqual(['VolumeModify', 'VolumeModifySuccessful']);
    expect(t.events.for('claim', 'ns').map((e) => e.message)).toEqual([
      'external resizer is modifying volume claim with vac gold',
      'external resizer modified volume claim with vac gold successfully',
    ]);
  });

  it('a claim that never had a class gets its first one; --extra-modify-metadata adds the identity keys', async () => {
    const t = setup({ spec: 'gold', extraModifyMetadata: true });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls[0]!.parameters).toEqual({
      iops: '4567',
      'csi.storage.k8s.io/pvc/name': 'claim',
      'csi.storage.k8s.io/pvc/namespace': 'ns',
      'csi.storage.k8s.io/pv/name': 'pv-claim',
    });
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('gold');
  });

  it('a missing class leaves the claim Pending with a warning, and the class appearing resumes it', async () => {
    const t = setup({ spec: 'platinum', current: 'silver' });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([]);
    expect(t.pvc().status!.modifyVolumeStatus).toEqual({ status: 'Pending' });
    expect(t.last()).toMatchObject({ type: 'Warning', reason: 'VolumeModifyFailed', message: 'VAC "platinum" does not exist.' });
    while (t.ctrl.queue.len() > 0) t.ctrl.queue.done((await t.ctrl.queue.get())!);
    t.classes.set(vac('platinum', '9000'));
    expect(t.ctrl.queue.len()).toBe(1);
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([{ volume: 'pv-claim', parameters: { iops: '9000' } }]);
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('platinum');
  });

  it('InvalidArgument marks the change Infeasible, retries slowly, and the user rolls back to the current class', async () => {
    const t = setup({ spec: 'gold', current: 'silver' });
    t.modifier.script.push(failure(GrpcCode.InvalidArgument, 'iops out of range'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('rpc error: code = InvalidArgument desc = iops out of range');
    const status = t.pvc().status!;
    expect(status.modifyVolumeStatus).toEqual({ status: 'Infeasible', targetVolumeAttributesClassName: 'gold' });
    expect(t.condition('ModifyingVolume')!.message).toBe('Modifying volume to "gold" failed. Waiting for retry.');
    expect(t.condition('ModifyVolumeError')).toMatchObject({ reason: 'InvalidArgument', message: 'iops out of range' });
    expect(t.last()).toMatchObject({ type: 'Warning', reason: 'VolumeModifyFailed', message: 'rpc error: code = InvalidArgument desc = iops out of range' });

    // Unchanged: slow retry.
    expect(await t.ctrl.syncClaim(KEY)).toEqual({ requeueAfterMs: 300_000 });
    expect(t.modifier.calls).toHaveLength(1);

    // Rollback: the current class's parameters are applied again and the error goes away.
    t.setSpec('silver');
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls.map((c) => c.parameters)).toEqual([{ iops: '4567' }, { iops: '3000' }]);
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('silver');
    expect(t.pvc().status!.modifyVolumeStatus).toBeUndefined();
    expect(t.pvc().status!.conditions ?? []).toEqual([]);
  });

  it('keeps asking for the uncertain class after a timeout, whatever the user changes meanwhile', async () => {
    const t = setup({ spec: 'gold', current: 'silver' });
    t.modifier.script.push(failure(GrpcCode.DeadlineExceeded, 'timed out'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('DeadlineExceeded');
    expect(t.ctrl.isUncertain(KEY)).toBe(true);
    expect(t.pvc().status!.modifyVolumeStatus).toEqual({ status: 'InProgress', targetVolumeAttributesClassName: 'gold' });
    expect(t.condition('ModifyingVolume')!.message).toBe('Modifying volume to "gold" is still in progress.');
    expect(t.condition('ModifyVolumeError')!.reason).toBe('DeadlineExceeded');
    expect(t.last()!.message).toBe('rpc error: code = DeadlineExceeded desc = timed out. Still modifying to VAC gold');

    t.setSpec('silver');
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls.map((c) => c.parameters.iops)).toEqual(['4567', '4567']);
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('gold');
    expect(t.ctrl.isUncertain(KEY)).toBe(false);

    // Now the user's latest wish is applied.
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls.map((c) => c.parameters.iops)).toEqual(['4567', '4567', '3000']);
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('silver');
  });

  it('after a final error the user may pick another class at once', async () => {
    const t = setup({ spec: 'gold', current: 'silver' });
    t.modifier.script.push(failure(GrpcCode.Internal, 'backend down'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('Internal');
    expect(t.pvc().status!.modifyVolumeStatus!.status).toBe('InProgress');
    expect(t.ctrl.isUncertain(KEY)).toBe(false);
    t.classes.set(vac('bronze', '100'));
    t.setSpec('bronze');
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls.map((c) => c.parameters.iops)).toEqual(['4567', '100']);
  });

  it('cancels: class removed before the change started → ModifyingVolume dropped, VolumeModifyCanceled', async () => {
    const t = setup({
      spec: undefined,
      current: 'silver',
      modifyStatus: { status: 'Infeasible', targetVolumeAttributesClassName: 'gold' },
      conditions: [{ type: 'ModifyingVolume', status: 'True' }],
    });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([]);
    expect(t.condition('ModifyingVolume')).toBeUndefined();
    expect(t.reasons()).toEqual(['VolumeModifyCanceled']);
    expect(t.last()!.message).toBe('Cancelled modify.');
  });

  it('an InProgress claim with no class in the spec finishes the class it was modifying to', async () => {
    const t = setup({ spec: undefined, current: 'silver', modifyStatus: { status: 'InProgress', targetVolumeAttributesClassName: 'gold' } });
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls.map((c) => c.parameters.iops)).toEqual(['4567']);
    expect(t.pvc().status!.currentVolumeAttributesClassName).toBe('gold');
  });

  it('claims InProgress at start-up are uncertain', async () => {
    const t = setup({ spec: 'silver', current: 'silver', modifyStatus: { status: 'InProgress', targetVolumeAttributesClassName: 'gold' } });
    const stop = new AbortController();
    t.modifier.script.push(failure(GrpcCode.Unavailable, 'later'));
    const running = t.ctrl.run(stop.signal);
    await t.clock.advance(0);
    expect(t.modifier.calls.map((c) => c.parameters.iops)).toEqual(['4567']); // gold, not the spec's silver
    stop.abort();
    t.ctrl.dispose();
    await running;
  });

  it('skips PVs of other drivers and unbound claims; plain errors are not written to the claim', async () => {
    const t = setup({ spec: 'gold', current: 'silver' });
    t.api.editVolume('pv-claim', (pv) => (pv.spec!.csi!.driver = 'other.example.com'));
    await t.ctrl.syncClaim(KEY);
    expect(t.modifier.calls).toEqual([]);

    const u = setup({ spec: 'gold', current: 'silver' });
    u.modifier.script.push(new Error('error getting secret s in namespace ns: not found'));
    await expect(u.ctrl.syncClaim(KEY)).rejects.toThrow('cannot get error status from modify volume err: error getting secret');
    expect(u.api.writes).toHaveLength(1); // only the InProgress mark
    expect(u.reasons()).toEqual(['VolumeModify']);
  });
});
