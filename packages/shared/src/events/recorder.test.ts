import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createKubeClient } from '../kube/client.js';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { EVENTS, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS } from '../kube/resources.js';
import { FakeApiServer } from '../kube/testing/fake-apiserver.js';
import { FakeClock } from '../lifecycle/clock.js';
import { memoryLogger } from '../logging/logger.js';
import { objectReference } from './reference.js';
import { DROPPED_EVENTS_LOG_INTERVAL_MS, KubeEventRecorder, MemoryEventRecorder, eventTimestamp } from './recorder.js';
import { apiEventSink } from './sink.js';
import type { EventSink } from './sink.js';
import type { CoreV1EventBody } from './types.js';

let server: FakeApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
});

afterAll(async () => {
  client.dispose();
  await server.close();
});

const pvc = (name: string) => ({
  metadata: { name, namespace: 'ns1', uid: `uid-${name}`, resourceVersion: '42' },
  spec: {},
});

function recorder(clock = new FakeClock(), sink: EventSink = apiEventSink(client)) {
  return new KubeEventRecorder({ sink, source: { component: 'io.example.csi_host_1234' }, clock, random: () => 0.5 });
}

/** A sink whose creates hang until release(): the first event stays in flight, the rest queue. */
function gatedSink(): { sink: EventSink; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sink: EventSink = {
    create: async (e) => {
      await gate;
      return e;
    },
    patch: async (e) => e,
  };
  return { sink, release };
}

describe('KubeEventRecorder against an apiserver', () => {
  it('creates a core/v1 Event with the involved object, source and timestamps of client-go', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const r = recorder(clock);
    r.event(objectReference(pvc('c1'), PERSISTENT_VOLUME_CLAIMS), 'Normal', 'Provisioning', 'External provisioner is provisioning volume for claim "ns1/c1"');
    await r.idle();
    const events = server.list<CoreV1EventBody>(EVENTS, 'ns1').filter((e) => e.involvedObject.name === 'c1');
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.metadata.name).toMatch(/^c1\.[0-9a-f]+$/);
    expect(e.involvedObject).toEqual({ kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'ns1', name: 'c1', uid: 'uid-c1', resourceVersion: '42' });
    expect(e).toMatchObject({
      type: 'Normal',
      reason: 'Provisioning',
      count: 1,
      source: { component: 'io.example.csi_host_1234' },
      reportingComponent: 'io.example.csi_host_1234',
      reportingInstance: '',
      firstTimestamp: '2026-01-02T03:04:05Z',
      lastTimestamp: '2026-01-02T03:04:05Z',
    });
    await r.dispose();
  });

  it('patches count and lastTimestamp of a repeated event instead of creating another', async () => {
    const clock = new FakeClock();
    const r = recorder(clock);
    const ref = objectReference(pvc('c2'), PERSISTENT_VOLUME_CLAIMS);
    r.event(ref, 'Warning', 'ProvisioningFailed', 'rpc error: code = Internal desc = boom');
    await r.idle();
    await clock.advance(90_000);
    r.event(ref, 'Warning', 'ProvisioningFailed', 'rpc error: code = Internal desc = boom');
    r.event(ref, 'Warning', 'ProvisioningFailed', 'rpc error: code = Internal desc = boom');
    await r.idle();
    const events = server.list<CoreV1EventBody>(EVENTS, 'ns1').filter((e) => e.involvedObject.name === 'c2');
    expect(events).toHaveLength(1);
    expect(events[0]!.count).toBe(3);
    expect(events[0]!.lastTimestamp).toBe(eventTimestamp(clock.now()));
    expect(events[0]!.firstTimestamp).toBe(eventTimestamp(clock.now() - 90_000));
    const patches = server.requests.filter((q) => q.method === 'PATCH' && q.path.includes(events[0]!.metadata.name));
    expect(patches).toHaveLength(2);
    expect(patches[0]!.headers['content-type']).toContain('application/strategic-merge-patch+json');
    await r.dispose();
  });

  it('files events of cluster-scoped objects in namespace default', async () => {
    const r = recorder();
    r.event(objectReference({ metadata: { name: 'pv-1', uid: 'u' } }, PERSISTENT_VOLUMES), 'Warning', 'VolumeFailedDelete', 'nope');
    await r.idle();
    const e = server.list<CoreV1EventBody>(EVENTS, 'default').find((x) => x.involvedObject.name === 'pv-1');
    expect(e?.involvedObject.kind).toBe('PersistentVolume');
    expect(e?.involvedObject.namespace).toBeUndefined();
    await r.dispose();
  });

  it('creates the event anew with the running count when the patched Event is gone', async () => {
    const r = recorder();
    const ref = objectReference(pvc('c3'), PERSISTENT_VOLUME_CLAIMS);
    r.event(ref, 'Warning', 'ProvisioningFailed', 'same');
    await r.idle();
    const first = server.list<CoreV1EventBody>(EVENTS, 'ns1').find((e) => e.involvedObject.name === 'c3')!;
    server.remove(EVENTS, first.metadata.name, 'ns1');
    r.event(ref, 'Warning', 'ProvisioningFailed', 'same');
    await r.idle();
    const now = server.list<CoreV1EventBody>(EVENTS, 'ns1').filter((e) => e.involvedObject.name === 'c3');
    expect(now).toHaveLength(1);
    expect(now[0]!.count).toBe(2);
    await r.dispose();
  });

  it('does not retry an event the apiserver refused', async () => {
    const r = recorder();
    server.failNext({ method: 'POST', path: '/events' }, { code: 403, reason: 'Forbidden', message: 'events is forbidden' });
    r.event(objectReference(pvc('c4'), PERSISTENT_VOLUME_CLAIMS), 'Normal', 'X', 'y');
    await r.idle();
    expect(r.pendingRetries).toBe(0);
    expect(server.list<CoreV1EventBody>(EVENTS, 'ns1').some((e) => e.involvedObject.name === 'c4')).toBe(false);
    await r.dispose();
  });
});

describe('KubeEventRecorder with a failing sink', () => {
  const ref = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'ns', name: 'c', uid: 'u' };

  it('retries transport failures after a delay, up to the try limit', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const sink: EventSink = {
      create: async (e) => {
        attempts++;
        if (attempts < 3) throw new Error('connect ECONNREFUSED');
        return { ...e, metadata: { ...e.metadata, resourceVersion: '1' } };
      },
      patch: async () => {
        throw new Error('unexpected patch');
      },
    };
    const r = new KubeEventRecorder({ sink, source: { component: 'c' }, clock, random: () => 0.5, retryDelayMs: 10_000 });
    r.event(ref, 'Normal', 'R', 'm');
    await r.idle();
    expect(attempts).toBe(1);
    expect(r.pendingRetries).toBe(1);
    await clock.advance(5_000); // first retry waits delay * random
    await r.idle();
    expect(attempts).toBe(2);
    await clock.advance(10_000);
    await r.idle();
    expect(attempts).toBe(3);
    expect(r.pendingRetries).toBe(0);
    await r.dispose();
  });

  it('gives up after maxTries', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const sink: EventSink = {
      create: async () => {
        attempts++;
        throw new Error('socket hang up');
      },
      patch: async () => {
        throw new Error('unexpected');
      },
    };
    const { logger, lines } = memoryLogger();
    const r = new KubeEventRecorder({ sink, source: { component: 'c' }, clock, logger, random: () => 1, retryDelayMs: 1000, maxTries: 3 });
    r.event(ref, 'Normal', 'R', 'm');
    for (let i = 0; i < 5; i++) {
      await r.idle();
      await clock.advance(1000);
    }
    expect(attempts).toBe(3);
    expect(lines.some((l) => l.includes('retry limit exceeded'))).toBe(true);
    await r.dispose();
  });

  it('logs a flood of dropped events once per interval with counts, not once per event', async () => {
    const { sink, release } = gatedSink();
    const clock = new FakeClock(1_000_000);
    const { logger, lines } = memoryLogger();
    const r = new KubeEventRecorder({ sink, source: { component: 'c' }, logger, clock, maxQueued: 1 });
    const dropLines = () => lines.filter((l) => l.includes('too many queued events'));
    // One in flight, one queued, then 20 drops.
    for (let i = 0; i < 22; i++) r.event({ ...ref, name: `c${i}` }, 'Normal', 'R', `m${i}`);
    expect(r.dropped).toBe(20);
    expect(dropLines()).toHaveLength(1);
    expect(dropLines()[0]).toContain('"droppedSinceLastReport":1,');
    await clock.advance(DROPPED_EVENTS_LOG_INTERVAL_MS - 1);
    r.event({ ...ref, name: 'late' }, 'Normal', 'R', 'm');
    expect(dropLines()).toHaveLength(1);
    await clock.advance(1);
    r.event({ ...ref, name: 'later' }, 'Normal', 'R', 'm');
    expect(dropLines()).toHaveLength(2);
    // The 19 after the first report, the one just before the interval ended, and this one.
    expect(dropLines()[1]).toContain('"droppedSinceLastReport":21,');
    expect(dropLines()[1]).toContain('"droppedTotal":22');
    release();
    await r.dispose();
  });

  it('never blocks or throws: bounded queue, bad event types and broken sinks are logged', async () => {
    const { sink, release } = gatedSink();
    const { logger, lines } = memoryLogger();
    const r = new KubeEventRecorder({ sink, source: { component: 'c' }, logger, maxQueued: 2 });
    for (let i = 0; i < 5; i++) r.event({ ...ref, name: `c${i}` }, 'Normal', 'R', `m${i}`);
    // One is being written, two are queued, two were dropped.
    expect(r.queued).toBe(2);
    expect(r.dropped).toBe(2);
    expect(() => r.event(ref, 'Bogus' as 'Normal', 'R', 'm')).not.toThrow();
    expect(lines.some((l) => l.includes('Unsupported event type'))).toBe(true);
    release();
    await r.idle();
    expect(r.queued).toBe(0);
    const throwing: EventSink = {
      create: () => {
        throw new KubeApiError(500, 'InternalError', 'x');
      },
      patch: () => {
        throw new Error('x');
      },
    };
    const r2 = new KubeEventRecorder({ sink: throwing, source: { component: 'c' } });
    expect(() => r2.event(ref, 'Warning', 'R', 'm')).not.toThrow();
    await r2.idle();
    await r.dispose();
    await r2.dispose();
  });

  it('cuts very long messages and drops events after dispose', async () => {
    const got: CoreV1EventBody[] = [];
    const sink: EventSink = { create: async (e) => (got.push(e), e), patch: async (e) => e };
    const r = new KubeEventRecorder({ sink, source: { component: 'c' }, maxMessageLength: 10 });
    r.event(ref, 'Warning', 'R', 'x'.repeat(50));
    await r.idle();
    expect(got[0]!.message).toBe('xxxxxxx...');
    await r.dispose();
    r.event(ref, 'Warning', 'R', 'after');
    expect(r.dropped).toBe(1);
    expect(got).toHaveLength(1);
  });
});

describe('MemoryEventRecorder', () => {
  it('keeps events for assertions', () => {
    const m = new MemoryEventRecorder();
    m.event({ kind: 'PersistentVolume', apiVersion: 'v1', name: 'pv' }, 'Warning', 'VolumeFailedDelete', 'x');
    expect(m.reasons('pv')).toEqual(['VolumeFailedDelete']);
    expect(m.for('pv')).toEqual([{ subject: { kind: 'PersistentVolume', apiVersion: 'v1', name: 'pv' }, type: 'Warning', reason: 'VolumeFailedDelete', message: 'x' }]);
  });
});
