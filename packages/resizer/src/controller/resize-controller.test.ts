import { describe, expect, it } from '@jest/globals';
import { CsiCallError, discardLogger, FakeClock, GrpcCode, MemoryEventRecorder } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { NodeOnlyResizer } from '../resizer/volume-resizer.js';
import { InfeasibleResizeError } from '../resizer/errors.js';
import type { VolumeResizer } from '../resizer/volume-resizer.js';
import { boundPair, FakeInformer, InMemoryResizerApi, ScriptedResizer, TEST_DRIVER } from '../testing/fakes.js';
import { PodClaimIndex } from './pod-claim-index.js';
import type { ResizeControllerOptions } from './resize-controller.js';
import { ResizeController } from './resize-controller.js';

const EXPAND = '/csi.v1.Controller/ControllerExpandVolume';
const KEY = 'ns/claim';

function setup(opts: { options?: Partial<ResizeControllerOptions>; resizer?: VolumeResizer; pods?: PodClaimIndex; request?: string; capacity?: string } = {}) {
  const clock = new FakeClock();
  const claims = new FakeInformer<PersistentVolumeClaim>();
  const volumes = new FakeInformer<PersistentVolume>();
  const api = new InMemoryResizerApi();
  api.claimInformer = claims;
  api.volumeInformer = volumes;
  const events = new MemoryEventRecorder();
  const scripted = new ScriptedResizer(TEST_DRIVER);
  const resizer = opts.resizer ?? scripted;
  const ctrl = new ResizeController(
    { resizer, api, claims, volumes, pods: opts.pods, events, clock, logger: discardLogger },
    {
      workers: 2,
      resyncPeriodMs: 0,
      retryIntervalStartMs: 1000,
      retryIntervalMaxMs: 300_000,
      recoverVolumeExpansionFailure: true,
      annotateFsResize: false,
      ...opts.options,
    },
  );
  const pair = boundPair({ request: opts.request ?? '2Gi', capacity: opts.capacity ?? '1Gi' });
  api.addVolume(pair.pv);
  api.addClaim(pair.pvc);
  const pvc = () => api.claim(KEY);
  const pv = () => api.volume('pv-claim');
  const reasons = () => events.for('claim', 'ns').map((e) => e.reason);
  const messages = () => events.for('claim', 'ns').map((e) => e.message);
  const setRequest = (size: string) => api.editClaim(KEY, (c) => (c.spec!.resources!.requests!.storage = size));
  return { clock, claims, volumes, api, events, scripted, ctrl, pvc, pv, reasons, messages, setRequest };
}

const grpcError = (code: number, details: string) => new CsiCallError(EXPAND, code, details);

describe('ResizeController: expansion', () => {
  it('expands in the controller and finishes the claim when no node step is needed', async () => {
    const t = setup();
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toEqual([{ volume: 'pv-claim', size: '2Gi' }]);
    expect(t.pv().spec!.capacity).toEqual({ storage: '2Gi' });
    const status = t.pvc().status!;
    expect(status.capacity).toEqual({ storage: '2Gi' });
    expect(status.allocatedResources).toEqual({ storage: '2Gi' });
    expect(status.allocatedResourceStatuses).toBeUndefined();
    expect(status.conditions ?? []).toEqual([]);
    expect(t.pvc().metadata!.annotations).toEqual({ 'volume.kubernetes.io/node-expansion-not-required': 'true' });
    expect(t.reasons()).toEqual(['Resizing', 'VolumeResizeSuccessful']);
    expect(t.messages()).toEqual(['External resizer is resizing volume pv-claim', 'Resize volume succeeded']);
    // Status through the status subresource with a resourceVersion precondition; PV by patch.
    expect(t.api.writes.map((w) => [w.kind, w.precondition])).toEqual([
      ['pvc-status', true],
      ['pv', false],
      ['pvc-status', true],
    ]);
  });

  it('leaves the claim NodeResizePending with FileSystemResizePending when the driver needs the node step', async () => {
    const t = setup();
    t.scripted.nodeExpansionRequired = true;
    await t.ctrl.syncClaim(KEY);
    const status = t.pvc().status!;
    expect(status.capacity).toEqual({ storage: '1Gi' });
    expect(status.allocatedResourceStatuses).toEqual({ storage: 'NodeResizePending' });
    expect(status.conditions!.map((c) => c.type)).toEqual(['Resizing', 'FileSystemResizePending']);
    expect(t.pv().spec!.capacity).toEqual({ storage: '2Gi' });
    expect(t.reasons()).toEqual(['Resizing', 'FileSystemResizeRequired']);
    // Nothing more for the controller until kubelet is done.
    t.scripted.calls.length = 0;
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toEqual([]);
  });

  it('manages the pre-resize-capacity annotation with AnnotateFsResize', async () => {
    const t = setup({ options: { annotateFsResize: true } });
    t.scripted.nodeExpansionRequired = true;
    await t.ctrl.syncClaim(KEY);
    expect(t.pv().metadata!.annotations).toEqual({ 'volume.alpha.kubernetes.io/pre-resize-capacity': '1Gi' });
    // kubelet finishes: status.capacity reaches the PV size → the annotation goes.
    t.api.editClaim(KEY, (c) => {
      c.status!.capacity = { storage: '2Gi' };
      delete c.status!.allocatedResourceStatuses;
    });
    await t.ctrl.syncClaim(KEY);
    expect(t.pv().metadata!.annotations ?? {}).toEqual({});
  });

  it('node-only drivers: no CSI call, PV at the request at once, node step pending', async () => {
    const t = setup({ resizer: new NodeOnlyResizer(TEST_DRIVER) });
    await t.ctrl.syncClaim(KEY);
    expect(t.pv().spec!.capacity).toEqual({ storage: '2Gi' });
    expect(t.pvc().status!.allocatedResourceStatuses).toEqual({ storage: 'NodeResizePending' });
    expect(t.pvc().status!.conditions!.some((c) => c.type === 'FileSystemResizePending')).toBe(true);
  });

  it('skips claims of other drivers, foreign claimRefs and claims without a pending request', async () => {
    const other = setup();
    other.api.editVolume('pv-claim', (pv) => (pv.spec!.csi!.driver = 'other.example.com'));
    await other.ctrl.syncClaim(KEY);
    const stolen = setup();
    stolen.api.editVolume('pv-claim', (pv) => (pv.spec!.claimRef!.uid = 'another-uid'));
    await stolen.ctrl.syncClaim(KEY);
    const done = setup({ request: '1Gi' });
    await done.ctrl.syncClaim(KEY);
    for (const t of [other, stolen, done]) {
      expect(t.scripted.calls).toEqual([]);
      expect(t.api.writes).toEqual([]);
    }
  });

  it('retries (does not drop) a claim whose PV is not in the cache yet', async () => {
    const t = setup();
    t.volumes.remove('pv-claim');
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('PV "pv-claim" bound to pvc "ns/claim" not found');
    expect(await t.ctrl.syncClaim('ns/missing')).toBeUndefined();
  });
});

describe('ResizeController: failures and recovery (RecoverVolumeExpansionFailure)', () => {
  it('infeasible: records ControllerResizeInfeasible, retries slowly, and expands the lowered request', async () => {
    const t = setup({ request: '100Ti' });
    t.scripted.script.push(grpcError(GrpcCode.OutOfRange, 'size exceeds the maximum'), grpcError(GrpcCode.OutOfRange, 'size exceeds the maximum'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow(
      'resize volume "pv-claim" by resizer "test.csi.example.com" failed: rpc error: code = OutOfRange desc = size exceeds the maximum',
    );
    let status = t.pvc().status!;
    expect(status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInfeasible' });
    expect(status.allocatedResources).toEqual({ storage: '100Ti' });
    expect(status.conditions!.find((c) => c.type === 'ControllerResizeError')!.message).toBe(
      'failed to expand pvc with rpc error: code = OutOfRange desc = size exceeds the maximum',
    );
    expect(t.api.writes[1]).toMatchObject({ kind: 'pvc-status', precondition: false });
    expect(t.reasons()).toEqual(['Resizing', 'VolumeResizeFailed']);
    expect(t.pv().spec!.capacity).toEqual({ storage: '1Gi' });

    // Same request: one more try, then only every --retry-interval-max.
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('OutOfRange');
    await t.clock.advance(2000);
    expect(await t.ctrl.syncClaim(KEY)).toEqual({ requeueAfterMs: 298_000 });
    expect(t.scripted.calls).toHaveLength(2);

    // The user shrinks the request: the next sync targets it right away.
    t.setRequest('3Gi');
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls.map((c) => c.size)).toEqual(['100Ti', '100Ti', '3Gi']);
    status = t.pvc().status!;
    expect(status.capacity).toEqual({ storage: '3Gi' });
    expect(status.allocatedResources).toEqual({ storage: '3Gi' });
    expect(status.allocatedResourceStatuses).toBeUndefined();
    expect(status.conditions ?? []).toEqual([]);
    expect(t.ctrl.state).toEqual({ slowSet: 0, finalErrors: 0, inUseErrors: 0 });
  });

  it('never re-targets while a non-final (uncertain) call is outstanding; after a final error it does', async () => {
    const t = setup({ request: '100Gi' });
    t.scripted.script.push(grpcError(GrpcCode.DeadlineExceeded, 'timeout'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('DeadlineExceeded');
    expect(t.pvc().status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect((t.pvc().status!.conditions ?? []).map((c) => c.type)).toEqual(['Resizing']);

    t.setRequest('3Gi');
    t.scripted.script.push(grpcError(GrpcCode.Internal, 'backend failure'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('Internal');
    expect(t.scripted.calls.map((c) => c.size)).toEqual(['100Gi', '100Gi']);
    expect(t.pvc().status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(t.pvc().status!.conditions!.find((c) => c.type === 'ControllerResizeError')!.message).toBe(
      'failed to expand pvc with rpc error: code = Internal desc = backend failure',
    );

    // The final error released the old target: the lowered request is expanded.
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls.map((c) => c.size)).toEqual(['100Gi', '100Gi', '3Gi']);
    expect(t.pvc().status!.capacity).toEqual({ storage: '3Gi' });
  });

  it('non-gRPC failures are not final: status untouched, event recorded', async () => {
    const t = setup();
    t.scripted.script.push(new Error('error getting secret s in namespace ns: not found'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('error getting secret');
    expect(t.pvc().status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(t.api.writesOf('pvc-status')).toHaveLength(1);
    expect(t.events.for('claim', 'ns').at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed' });
  });

  it('a driver answer that cannot be right (our InfeasibleResizeError) is recorded like an infeasible failure', async () => {
    const t = setup();
    t.scripted.script.push(new InfeasibleResizeError('CSI driver test.csi.example.com answered ControllerExpandVolume for volume vol-claim with capacity_bytes 0'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('capacity_bytes 0');
    expect(t.pvc().status!.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInfeasible' });
    expect(t.pv().spec!.capacity).toEqual({ storage: '1Gi' });
  });

  it('a failed PV update is reported and retried, the claim stays in progress', async () => {
    const t = setup();
    t.api.failures.push({ kind: 'pv', error: new Error('PersistentVolume "pv-claim" is invalid: spec.capacity: must be positive') });
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('error updating pv "pv-claim" by resizer: PersistentVolume "pv-claim" is invalid');
    expect(t.reasons()).toEqual(['Resizing', 'VolumeResizeFailed']);
    await t.ctrl.syncClaim(KEY);
    expect(t.pvc().status!.capacity).toEqual({ storage: '2Gi' });
  });

  it('a stale cache does not turn our next write into a conflict', async () => {
    const t = setup({ request: '100Ti' });
    t.api.deliver = false; // the watch lags behind our writes
    t.scripted.script.push(grpcError(GrpcCode.OutOfRange, 'too big'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('OutOfRange');
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toHaveLength(2);
  });
});

describe('ResizeController: offline expansion (in-use gate)', () => {
  const runningPod = { metadata: { name: 'web', namespace: 'ns' }, spec: { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'claim' } }] }, status: { phase: 'Running' } };

  it('after FailedPrecondition, does not call the driver again while a pod uses the claim', async () => {
    const pods = new PodClaimIndex();
    pods.replace([runningPod]);
    const t = setup({ pods });
    t.scripted.script.push(grpcError(GrpcCode.FailedPrecondition, 'volume is attached'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('FailedPrecondition');
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow(
      'Unable to expand ns/claim because CSI driver test.csi.example.com only supports offline expansion and volume is currently in-use',
    );
    expect(t.scripted.calls).toHaveLength(1);
    expect(t.events.for('claim', 'ns').at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed' });

    pods.delete(runningPod);
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toHaveLength(2);
    expect(t.pvc().status!.capacity).toEqual({ storage: '2Gi' });
  });

  it('without a pod index (--handle-volume-inuse-error=false) the gate never blocks', async () => {
    const t = setup();
    t.scripted.script.push(grpcError(GrpcCode.FailedPrecondition, 'volume is attached'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow('FailedPrecondition');
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toHaveLength(2);
  });
});

describe('ResizeController: legacy path (RecoverVolumeExpansionFailure=false)', () => {
  it('uses conditions only and leaves allocatedResources alone', async () => {
    const t = setup({ options: { recoverVolumeExpansionFailure: false } });
    t.scripted.nodeExpansionRequired = true;
    await t.ctrl.syncClaim(KEY);
    const status = t.pvc().status!;
    expect(status.allocatedResources).toBeUndefined();
    expect(status.allocatedResourceStatuses).toBeUndefined();
    expect(status.conditions!.map((c) => c.type)).toEqual(['FileSystemResizePending']);
    expect(t.pv().spec!.capacity).toEqual({ storage: '2Gi' });
    // PV big enough and kubelet's turn: nothing more.
    await t.ctrl.syncClaim(KEY);
    expect(t.scripted.calls).toHaveLength(1);
  });

  it('finishes without a node step', async () => {
    const t = setup({ options: { recoverVolumeExpansionFailure: false } });
    await t.ctrl.syncClaim(KEY);
    expect(t.pvc().status!.capacity).toEqual({ storage: '2Gi' });
    expect(t.pvc().status!.conditions ?? []).toEqual([]);
    expect(t.reasons()).toEqual(['Resizing', 'VolumeResizeSuccessful']);
  });
});

describe('ResizeController: event handlers and the worker loop', () => {
  it('enqueues adds, request changes and resyncs; ignores unrelated edits and its own writes', async () => {
    const t = setup();
    expect(t.ctrl.queue.len()).toBe(1); // the add
    const key = await t.ctrl.queue.get();
    t.ctrl.queue.done(key!);
    t.api.editClaim(KEY, (c) => (c.metadata!.labels = { a: 'b' }));
    expect(t.ctrl.queue.len()).toBe(0);
    await t.ctrl.syncClaim(KEY); // three writes, delivered as watch events
    expect(t.ctrl.queue.len()).toBe(0);
    t.claims.resync();
    expect(t.ctrl.queue.len()).toBe(1);
  });

  it('retries an infeasible claim with backoff at first, then about every --retry-interval-max', async () => {
    const t = setup({ request: '100Ti' });
    t.scripted.script.push(...Array.from({ length: 10 }, () => grpcError(GrpcCode.OutOfRange, 'too big')));
    const stop = new AbortController();
    const running = t.ctrl.run(stop.signal);
    await t.clock.advance(0);
    expect(t.scripted.calls).toHaveLength(1);
    await t.clock.advance(1000); // first backoff step
    expect(t.scripted.calls).toHaveLength(2);
    await t.clock.advance(2000); // second step: now delayed by the slow set
    await t.clock.advance(250_000);
    expect(t.scripted.calls).toHaveLength(2);
    await t.clock.advance(50_000);
    expect(t.scripted.calls).toHaveLength(3);
    stop.abort();
    t.ctrl.dispose();
    await running;
  });

  it('forgets everything about a deleted claim', async () => {
    const t = setup({ request: '100Ti' });
    t.scripted.script.push(grpcError(GrpcCode.OutOfRange, 'too big'), grpcError(GrpcCode.OutOfRange, 'too big'));
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow();
    await expect(t.ctrl.syncClaim(KEY)).rejects.toThrow();
    expect(t.ctrl.state.slowSet).toBe(1);
    t.claims.remove(KEY);
    expect(t.ctrl.state).toEqual({ slowSet: 0, finalErrors: 0, inUseErrors: 0 });
  });
});
