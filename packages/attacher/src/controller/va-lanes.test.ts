import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock, discardLogger, flushMicrotasks, sidecarRateLimiter, workQueueMetrics } from '@csi-sidecars-ts/shared';
import type { Lane, LaneWork } from './va-lanes.js';
import { VaLanes } from './va-lanes.js';

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const stops: AbortController[] = [];
const runs: Promise<void>[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  await Promise.all(runs.splice(0));
});

function setup(opts: { workers?: Record<Lane, number>; registry?: Registry } = {}) {
  const clock = new FakeClock();
  const state = new Map<string, Lane>();
  const lanes = new VaLanes({
    clock,
    rateLimiter: () => sidecarRateLimiter(1000, 60_000),
    laneOf: (name) => state.get(name) ?? 'attach',
    logger: discardLogger,
    ...(opts.registry ? { metrics: workQueueMetrics(opts.registry) } : {}),
  });
  const log: string[] = [];
  const gates = new Map<string, Gate>();
  const results = new Map<string, 'ok' | 'retry'>();
  const work: LaneWork = async (name, lane) => {
    log.push(`start ${lane} ${name}`);
    const g = gates.get(name);
    if (g) await g.promise;
    log.push(`end ${lane} ${name}`);
    return results.get(name) ?? 'ok';
  };
  const stop = new AbortController();
  stops.push(stop);
  runs.push(lanes.run(opts.workers ?? { attach: 1, detach: 1 }, work, stop.signal).then(() => lanes.dispose()));
  return { clock, state, lanes, log, gates, results };
}

describe('VaLanes', () => {
  it('runs detaches while every attach worker is stuck', async () => {
    const { state, lanes, log, gates } = setup({ workers: { attach: 2, detach: 1 } });
    for (const n of ['a1', 'a2', 'a3']) {
      gates.set(n, gate());
      lanes.enqueue(n);
    }
    state.set('d1', 'detach');
    lanes.enqueue('d1');
    await flushMicrotasks();
    expect(log).toEqual(['start attach a1', 'start attach a2', 'start detach d1', 'end detach d1']);
    expect(lanes.depth('attach')).toBe(3);
    expect(lanes.depth('detach')).toBe(0);
    for (const g of gates.values()) g.open();
    await flushMicrotasks();
    expect(log.filter((l) => l.startsWith('end attach'))).toHaveLength(3);
  });

  it('never works on one VA in both lanes at once, and catches up after', async () => {
    const { state, lanes, log, gates } = setup();
    const g = gate();
    gates.set('v', g);
    lanes.enqueue('v');
    await flushMicrotasks();
    expect(log).toEqual(['start attach v']);
    // The VA gets deleted while its attach is running.
    state.set('v', 'detach');
    gates.delete('v');
    lanes.enqueue('v');
    await flushMicrotasks();
    expect(log).toEqual(['start attach v']);
    g.open();
    await flushMicrotasks();
    expect(log).toEqual(['start attach v', 'end attach v', 'start detach v', 'end detach v']);
  });

  it('hands a VA to the other lane when its state changed while queued', async () => {
    const { state, lanes, log, gates } = setup();
    const blocker = gate();
    gates.set('busy', blocker);
    lanes.enqueue('busy');
    lanes.enqueue('v');
    await flushMicrotasks();
    state.set('v', 'detach');
    blocker.open();
    await flushMicrotasks();
    expect(log).toContain('start detach v');
    expect(log).not.toContain('start attach v');
  });

  it('retries a failed VA after its backoff, in its lane', async () => {
    const { clock, lanes, log, results } = setup();
    results.set('v', 'retry');
    lanes.enqueue('v');
    await flushMicrotasks();
    expect(log.filter((l) => l === 'start attach v')).toHaveLength(1);
    await clock.advance(999);
    expect(log.filter((l) => l === 'start attach v')).toHaveLength(1);
    await clock.advance(1);
    expect(log.filter((l) => l === 'start attach v')).toHaveLength(2);
    expect(lanes.queues.attach.numRequeues('v')).toBe(2);
    results.set('v', 'ok');
    await clock.advance(2000);
    expect(log.filter((l) => l === 'start attach v')).toHaveLength(3);
    expect(lanes.queues.attach.numRequeues('v')).toBe(0);
  });

  it('reports both lanes under the Go queue name csi-attacher-va', async () => {
    const registry = new Registry();
    const { state, lanes, gates } = setup({ registry });
    gates.set('a', gate());
    gates.set('b', gate());
    gates.set('d', gate());
    state.set('d', 'detach');
    lanes.enqueue('a');
    lanes.enqueue('b');
    lanes.enqueue('d');
    await flushMicrotasks();
    const adds = await registry.getSingleMetric('workqueue_adds_total')!.get();
    expect(adds.values).toEqual([expect.objectContaining({ labels: { name: 'csi-attacher-va' }, value: 3 })]);
    const depth = await registry.getSingleMetric('workqueue_depth')!.get();
    // a and d are being worked on, b waits.
    expect(depth.values).toEqual([expect.objectContaining({ labels: { name: 'csi-attacher-va' }, value: 1 })]);
    for (const g of gates.values()) g.open();
  });
});
