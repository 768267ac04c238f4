import { describe, expect, it } from '@jest/globals';
import { CsiCallError, CsiInvalidResponseError, FakeClock, GrpcCode } from '@csi-sidecars-ts/shared';
import type { PersistentVolumeClaim, VolumeSnapshot } from '@csi-sidecars-ts/shared';
import { createVolumeErrorState, isInfeasibleError } from './provisioning-state.js';
import { RecentlyDeletedVolumes } from './recently-deleted.js';
import { SlowSet } from './slow-set.js';
import { orphanedSnapshots, snapshotSourceOf } from './snapshot-finalizer-sweeper.js';
import { TopologyCache } from './topology-cache.js';

const M = '/csi.v1.Controller/CreateVolume';

describe('createVolumeErrorState', () => {
  it.each([
    [GrpcCode.ResourceExhausted, true, 'Reschedule'],
    [GrpcCode.ResourceExhausted, false, 'Finished'],
    [GrpcCode.DeadlineExceeded, true, 'InBackground'],
    [GrpcCode.Unavailable, false, 'InBackground'],
    [GrpcCode.Canceled, false, 'InBackground'],
    [GrpcCode.Aborted, false, 'InBackground'],
    [GrpcCode.InvalidArgument, true, 'Finished'],
    [GrpcCode.Internal, false, 'Finished'],
    [GrpcCode.NotFound, false, 'Finished'],
  ])('code %d, may reschedule %s → %s', (code, may, want) => {
    expect(createVolumeErrorState(new CsiCallError(M, code, 'x'), may)).toBe(want);
  });

  it('treats answers that are not a gRPC status as possibly still running', () => {
    expect(createVolumeErrorState(new Error('socket closed'), true)).toBe('InBackground');
    expect(createVolumeErrorState(new CsiInvalidResponseError(M, 'no volume id'), false)).toBe('InBackground');
  });

  it('calls only InvalidArgument from the driver infeasible', () => {
    expect(isInfeasibleError(new CsiCallError(M, GrpcCode.InvalidArgument, 'x'))).toBe(true);
    expect(isInfeasibleError(new CsiCallError(M, GrpcCode.Internal, 'x'))).toBe(false);
    expect(isInfeasibleError(Object.assign(new Error('x'), { code: 3 }))).toBe(false);
  });
});

describe('SlowSet', () => {
  it('delays for the window, and not after the StorageClass changed', async () => {
    const clock = new FakeClock();
    const s = new SlowSet(60_000, clock);
    s.add('u1', 'sc-a');
    expect(s.remainingMs('u1', 'sc-a')).toBe(60_000);
    await clock.advance(20_000);
    expect(s.remainingMs('u1', 'sc-a')).toBe(40_000);
    expect(s.remainingMs('u1', 'sc-b')).toBe(0);
    expect(s.size).toBe(0);
    s.add('u2', 'sc-a');
    await clock.advance(60_000);
    expect(s.remainingMs('u2', 'sc-a')).toBe(0);
    expect(s.remainingMs('unknown', 'x')).toBe(0);
  });
});

describe('RecentlyDeletedVolumes', () => {
  it('remembers names for a while and knows which incarnation was deleted', async () => {
    const clock = new FakeClock();
    const r = new RecentlyDeletedVolumes(clock, 1000);
    r.add('pv-1', 'uid-1');
    expect(r.has('pv-1')).toBe(true);
    expect(r.hasVolumeOf('pv-1', 'uid-1')).toBe(true);
    expect(r.hasVolumeOf('pv-1', 'uid-2')).toBe(false);
    await clock.advance(1000);
    expect(r.has('pv-1')).toBe(false);
  });
});

describe('TopologyCache', () => {
  it('keeps per-claim entries and drops those of vanished claims', () => {
    const c = new TopologyCache();
    c.setTopologyKeys('a', ['zone']);
    c.setNodeLabels('a', { zone: 'z' });
    c.setRequisiteTerms('b', [[['zone', 'z']]]);
    expect(c.get('a')).toEqual({ topologyKeys: ['zone'], nodeLabels: { zone: 'z' } });
    expect(c.retain((uid) => uid === 'a')).toBe(1);
    expect(c.get('b')).toBeUndefined();
  });
});

describe('snapshot sweeper selection', () => {
  const F = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';
  const snap = (name: string, ns = 'ns', finalizers = [F]): VolumeSnapshot => ({ metadata: { name, namespace: ns, finalizers } });
  const claim = (phase: string | undefined, ds: Record<string, unknown>): PersistentVolumeClaim => ({
    metadata: { name: 'c', namespace: 'ns' },
    spec: ds as PersistentVolumeClaim['spec'],
    status: phase ? { phase } : {},
  });

  it('keeps snapshots Pending claims restore from, by dataSource or dataSourceRef', () => {
    const claims = [
      claim('Pending', { dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'a' } }),
      claim(undefined, { dataSourceRef: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'b', namespace: 'other' } }),
      claim('Bound', { dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'c' } }),
    ];
    const orphans = orphanedSnapshots([snap('a'), snap('b', 'other'), snap('c'), snap('d', 'ns', [])], claims);
    expect(orphans.map((s) => s.metadata?.name)).toEqual(['c']);
    expect(snapshotSourceOf(claims[1]!)).toBe('other/b');
  });
});
