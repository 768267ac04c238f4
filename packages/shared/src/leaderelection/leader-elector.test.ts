import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock, flushMicrotasks } from '../lifecycle/clock.js';
import { InMemoryLeaseStore } from './in-memory-lease-client.js';
import { LeaseClientError } from './lease.js';
import { LeaderElector, type LeaderElectorOptions, type StoppedLeadingInfo } from './leader-elector.js';
import { leaderElectionMetrics } from './metrics.js';

const NS = 'kube-system';
const NAME = 'external-attacher-leader-hostpath-csi-k8s-io';

interface Candidate {
  elector: LeaderElector;
  client: ReturnType<InMemoryLeaseStore['client']>;
  ac: AbortController;
  done: Promise<void>;
  started: number;
  leadingSignal: AbortSignal | undefined;
  stopped: StoppedLeadingInfo[];
  newLeaders: string[];
  events: string[];
}

/** Work that runs until leadership ends (the usual controller shape). */
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

function candidate(
  store: InMemoryLeaseStore,
  clock: FakeClock,
  identity: string,
  extra: Partial<LeaderElectorOptions> = {},
): Candidate {
  const client = store.client();
  const ac = new AbortController();
  const c: Candidate = {
    client,
    ac,
    started: 0,
    leadingSignal: undefined,
    stopped: [],
    newLeaders: [],
    events: [],
    elector: undefined as unknown as LeaderElector,
    done: Promise.resolve(),
  };
  c.elector = new LeaderElector({
    client,
    namespace: NS,
    name: NAME,
    identity,
    clock,
    random: () => 0, // acquire retries exactly every retry period
    onStartedLeading: (signal) => {
      c.started++;
      c.leadingSignal = signal;
      return untilAborted(signal);
    },
    onStoppedLeading: (info) => void c.stopped.push(info),
    onNewLeader: (id) => void c.newLeaders.push(id),
    recordEvent: (msg) => void c.events.push(msg),
    ...extra,
  });
  c.done = c.elector.run(ac.signal);
  return c;
}

function holder(store: InMemoryLeaseStore): string | undefined {
  return store.peek(NS, NAME)?.spec?.holderIdentity;
}

describe('LeaderElector', () => {
  it('creates the Lease with client-go fields and renews it every retry period', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a', { labels: { app: 'csi' } });
    await flushMicrotasks();
    expect(a.started).toBe(1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['pod-a became leader']);
    const lease = store.peek(NS, NAME)!;
    expect(lease.metadata.labels).toEqual({ app: 'csi' });
    expect(lease.spec).toMatchObject({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease.spec?.acquireTime?.getTime()).toBe(clock.now());
    const acquired = clock.now();
    await clock.advance(5000);
    expect(store.peek(NS, NAME)?.spec?.renewTime?.getTime()).toBe(acquired + 5000);
    expect(store.peek(NS, NAME)?.spec?.acquireTime?.getTime()).toBe(acquired);
    await clock.advance(5000);
    expect(store.peek(NS, NAME)?.spec?.renewTime?.getTime()).toBe(acquired + 10_000);
    a.ac.abort();
    await a.done;
  });

  it('with two candidates starting together, exactly one leads and the other sees it', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a');
    const b = candidate(store, clock, 'pod-b');
    await clock.advance(30_000);
    expect(a.started + b.started).toBe(1);
    const [leader, follower] = a.started === 1 ? [a, b] : [b, a];
    expect(holder(store)).toBe(leader === a ? 'pod-a' : 'pod-b');
    expect(follower.elector.isLeader()).toBe(false);
    expect(follower.elector.getLeader()).toBe(holder(store));
    expect(follower.newLeaders).toEqual([holder(store)]);
    a.ac.abort();
    b.ac.abort();
    await Promise.all([a.done, b.done]);
  });

  it('when the leader stops renewing, it gives up after the renew deadline and the other takes over after the lease duration', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a');
    await flushMicrotasks();
    const b = candidate(store, clock, 'pod-b');
    await clock.advance(30_000);
    expect(holder(store)).toBe('pod-a');
    const lastRenewal = store.peek(NS, NAME)!.spec!.renewTime!.getTime();
    expect(lastRenewal).toBe(clock.now());

    a.client.faults.hang = true; // the API server stops answering this replica
    await clock.advance(14_999);
    expect(a.stopped).toEqual([]);
    expect(b.started).toBe(0);
    await clock.advance(1); // renew attempt at +5 s, deadline 10 s later
    expect(a.stopped).toEqual([{ reason: 'lost', wasLeader: true }]);
    expect(a.leadingSignal?.aborted).toBe(true);
    await a.done;

    // b measures expiry from when *it* saw the last renewal (at most one poll after it), so it
    // took over no earlier than that renewal + 15 s (checked above) and within one more poll.
    await clock.advance(10_000);
    expect(b.started).toBe(1);
    expect(store.peek(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
    b.ac.abort();
    await b.done;
  });

  it('does not take over a Lease whose holder keeps renewing, whatever the timestamps say', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    // Another replica holds the Lease with timestamps far in the past (clock skew) but renews.
    const stale = new Date(clock.now() - 3_600_000);
    store.put({ metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: 'other', leaseDurationSeconds: 15, acquireTime: stale, renewTime: stale, leaseTransitions: 3 } });
    const b = candidate(store, clock, 'pod-b');
    for (let i = 1; i <= 8; i++) {
      await clock.advance(5000);
      const l = store.peek(NS, NAME)!;
      // "other" renews: the record changes, but its renewTime stays skewed an hour back.
      store.put({ ...l, spec: { ...l.spec, renewTime: new Date(stale.getTime() + i) } });
    }
    expect(b.started).toBe(0);
    await clock.advance(20_000); // no more renewals: expires 15 s after b last saw a change
    expect(b.started).toBe(1);
    expect(store.peek(NS, NAME)!.spec?.leaseTransitions).toBe(4);
    b.ac.abort();
    await b.done;
  });

  it('handles an update conflict through the slow path without losing leadership, keeping foreign labels', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const registry = new Registry();
    const a = candidate(store, clock, 'pod-a', { labels: { mine: 'yes' }, metrics: leaderElectionMetrics(registry) });
    await clock.advance(1000);
    // Someone else writes the Lease (new resourceVersion, different labels): our cached copy is stale.
    const l = store.peek(NS, NAME)!;
    store.put({ ...l, metadata: { ...l.metadata, labels: { theirs: 'x' } } });
    const updatesBefore = a.client.calls.update;
    await clock.advance(4000);
    expect(a.client.calls.update).toBe(updatesBefore + 2); // fast path 409, then slow path success
    expect(a.stopped).toEqual([]);
    expect(a.elector.isLeader()).toBe(true);
    const after = store.peek(NS, NAME)!;
    expect(after.metadata.labels).toEqual({ theirs: 'x', mine: 'yes' });
    expect(after.spec?.renewTime?.getTime()).toBe(clock.now());
    expect(await registry.metrics()).toContain('leader_election_slowpath_total{name=""} 1');
    a.ac.abort();
    await a.done;
  });

  it('with releaseOnExit hands the Lease over at once on cancellation', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a', { releaseOnExit: true });
    await flushMicrotasks();
    const b = candidate(store, clock, 'pod-b');
    await clock.advance(12_000);
    a.ac.abort();
    await a.done;
    expect(a.stopped).toEqual([{ reason: 'cancelled', wasLeader: true }]);
    expect(a.events).toEqual(['pod-a became leader', 'pod-a stopped leading']);
    expect(store.peek(NS, NAME)!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(a.elector.isLeader()).toBe(false);
    await clock.advance(5000); // b's next retry: no need to wait for the 15 s lease duration
    expect(b.started).toBe(1);
    expect(store.peek(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'pod-b', leaseTransitions: 1 });
    b.ac.abort();
    await b.done;
  });

  it('without releaseOnExit leaves the Lease to expire', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a');
    await flushMicrotasks();
    const b = candidate(store, clock, 'pod-b');
    await clock.advance(12_000);
    a.ac.abort();
    await a.done;
    expect(holder(store)).toBe('pod-a');
    await clock.advance(10_000);
    expect(b.started).toBe(0);
    await clock.advance(15_000);
    expect(b.started).toBe(1);
    b.ac.abort();
    await b.done;
  });

  it('keeps renewing while the leader work drains after cancellation, then releases', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    let finishDrain!: () => void;
    const drained = new Promise<void>((r) => (finishDrain = r));
    const a = candidate(store, clock, 'pod-a', {
      releaseOnExit: true,
      onStartedLeading: async (signal) => {
        await untilAborted(signal);
        await drained; // in-flight operations finishing
      },
    });
    await clock.advance(1000);
    a.ac.abort();
    await clock.advance(20_000);
    expect(a.stopped).toEqual([]);
    expect(holder(store)).toBe('pod-a');
    expect(store.peek(NS, NAME)!.spec?.renewTime?.getTime()).toBeGreaterThan(clock.now() - 5000);
    finishDrain();
    await a.done;
    expect(a.stopped).toEqual([{ reason: 'cancelled', wasLeader: true }]);
    expect(holder(store)).toBe('');
  });

  it('stops with reason "finished" when the leader work ends by itself, reporting its error', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const boom = new Error('controller crashed');
    const a = candidate(store, clock, 'pod-a', {
      releaseOnExit: true,
      onStartedLeading: () => {
        throw boom;
      },
    });
    await a.done;
    expect(a.stopped).toEqual([{ reason: 'finished', wasLeader: true, error: boom }]);
    expect(holder(store)).toBe('');
  });

  it('reports a cancelled campaign that never led', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a');
    await flushMicrotasks();
    const b = candidate(store, clock, 'pod-b', { releaseOnExit: true });
    await clock.advance(7000);
    b.ac.abort();
    await b.done;
    expect(b.stopped).toEqual([{ reason: 'cancelled', wasLeader: false }]);
    expect(b.started).toBe(0);
    expect(holder(store)).toBe('pod-a'); // a follower never releases someone else's Lease
    a.ac.abort();
    await a.done;
  });

  it('retries while the API server errors, then acquires', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const client = store.client();
    client.faults.get = new LeaseClientError('etcdserver: request timed out', 500);
    let started = 0;
    const ac = new AbortController();
    const elector = new LeaderElector({
      client,
      namespace: NS,
      name: NAME,
      identity: 'pod-a',
      clock,
      random: () => 0,
      onStartedLeading: (s) => {
        started++;
        return untilAborted(s);
      },
      onStoppedLeading: () => undefined,
    });
    const done = elector.run(ac.signal);
    await clock.advance(10_000);
    expect(started).toBe(0);
    delete client.faults.get;
    await clock.advance(5000);
    expect(started).toBe(1);
    ac.abort();
    await done;
  });

  it('health check: followers are healthy; a leader is unhealthy once renewal is overdue by lease duration + 20 s', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const a = candidate(store, clock, 'pod-a');
    await flushMicrotasks();
    const b = candidate(store, clock, 'pod-b');
    await clock.advance(10_000);
    expect(a.elector.leaderElectionHealthy()).toBe(true);
    a.client.faults.hang = true;
    const lastRenewal = store.peek(NS, NAME)!.spec!.renewTime!.getTime();
    expect(a.elector.leaderElectionHealthy(lastRenewal + 35_000)).toBe(true);
    expect(a.elector.leaderElectionHealthy(lastRenewal + 35_001)).toBe(false);
    expect(b.elector.leaderElectionHealthy(lastRenewal + 1_000_000)).toBe(true);
    const check = a.elector.healthCheck();
    expect(check.name).toBe('leader-election');
    expect(() => check.check()).not.toThrow();
    await clock.advance(35_001);
    expect(() => check.check()).toThrow(`failed election to renew leadership on lease ${NS}/${NAME}`);
    a.ac.abort();
    b.ac.abort();
    await Promise.all([a.done, b.done]);
  });

  it('sets leader_election_master_status with the configured name label', async () => {
    const clock = new FakeClock();
    const store = new InMemoryLeaseStore();
    const registry = new Registry();
    const a = candidate(store, clock, 'pod-a', { metrics: leaderElectionMetrics(registry), metricsName: NAME });
    await flushMicrotasks();
    expect(await registry.metrics()).toContain(`leader_election_master_status{name="${NAME}"} 1`);
    a.ac.abort();
    await a.done;
    expect(await registry.metrics()).toContain(`leader_election_master_status{name="${NAME}"} 0`);
  });

  it('rejects inconsistent timings with the flag names', () => {
    const base = {
      client: new InMemoryLeaseStore().client(),
      namespace: NS,
      name: NAME,
      identity: 'x',
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /lease duration must be greater than renew deadline.*--leader-election-lease-duration=10000ms/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 6000, retryPeriodMs: 5000 })).toThrow(/renew deadline must be greater than retry period × 1.2/);
    expect(() => new LeaderElector({ ...base, retryPeriodMs: 0 })).toThrow(/retry period must be greater than zero/);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity is empty/);
  });

  it('refuses to run twice', async () => {
    const clock = new FakeClock();
    const a = candidate(new InMemoryLeaseStore(), clock, 'pod-a');
    await expect(a.elector.run(new AbortController().signal)).rejects.toThrow(/already running/);
    a.ac.abort();
    await a.done;
  });
});
