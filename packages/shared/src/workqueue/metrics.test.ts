import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../lifecycle/clock.js';
import { WORKQUEUE_DURATION_BUCKETS, workQueueMetrics } from './metrics.js';
import { RateLimitingQueue } from './rate-limiting-queue.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiters.js';

async function value(registry: Registry, metric: string, labels: Record<string, string>): Promise<number | undefined> {
  const json = await registry.getMetricsAsJSON();
  const m = json.find((x) => x.name === metric);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v?.value;
}

function setup(name = 'claims') {
  const clock = new FakeClock();
  const registry = new Registry();
  const metrics = workQueueMetrics(registry);
  const q = new RateLimitingQueue<string>({ name, clock, metrics, rateLimiter: new ItemExponentialFailureRateLimiter(1000, 10_000) });
  return { clock, registry, metrics, q };
}

describe('workqueue metrics', () => {
  it('uses client-go names, help texts, label and buckets', async () => {
    const { registry } = setup();
    const text = await registry.metrics();
    for (const name of [
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'workqueue_retries_total',
      'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('# HELP workqueue_depth Current depth of workqueue');
    expect(text).toContain('workqueue_depth{name="claims"} 0');
    expect(WORKQUEUE_DURATION_BUCKETS).toEqual([1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]);
    expect(text).toContain('workqueue_queue_duration_seconds_bucket{le="1e-8",name="claims"} 0');
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="10",name="claims"} 0');
  });

  it('tracks depth, adds, queue latency and work duration', async () => {
    const { clock, registry, q } = setup();
    q.add('a');
    q.add('a'); // deduplicated: not an add
    q.add('b');
    expect(await value(registry, 'workqueue_depth', { name: 'claims' })).toBe(2);
    expect(await value(registry, 'workqueue_adds_total', { name: 'claims' })).toBe(2);
    await clock.advance(2000);
    const a = (await q.get())!;
    expect(await value(registry, 'workqueue_depth', { name: 'claims' })).toBe(1);
    await clock.advance(500);
    q.done(a);
    const text = await registry.metrics();
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="claims"} 2');
    expect(text).toContain('workqueue_queue_duration_seconds_count{name="claims"} 1');
    expect(text).toContain('workqueue_work_duration_seconds_sum{name="claims"} 0.5');
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="0.1",name="claims"} 0');
    expect(text).toContain('workqueue_work_duration_seconds_bucket{le="1",name="claims"} 1');
  });

  it('counts every addAfter / addRateLimited as a retry', async () => {
    const { registry, q } = setup();
    q.addAfter('a', 0);
    q.addRateLimited('b');
    expect(await value(registry, 'workqueue_retries_total', { name: 'claims' })).toBe(2);
  });

  it('reports unfinished work and the longest running processor at scrape time', async () => {
    const { clock, registry, q } = setup();
    q.add('a');
    q.add('b');
    await q.get();
    await clock.advance(3000);
    await q.get();
    await clock.advance(1000);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'claims' })).toBe(5);
    expect(await value(registry, 'workqueue_longest_running_processor_seconds', { name: 'claims' })).toBe(4);
    q.done('a');
    q.done('b');
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'claims' })).toBe(0);
  });

  it('lets several queues share a registry; same-named queues add up', async () => {
    const { clock, registry, metrics, q } = setup('pvc');
    const twin = new RateLimitingQueue<string>({ name: 'pvc', clock, metrics, rateLimiter: new ItemExponentialFailureRateLimiter(1, 1) });
    const other = new RateLimitingQueue<string>({ name: 'volumes', clock, metrics: workQueueMetrics(registry), rateLimiter: new ItemExponentialFailureRateLimiter(1, 1) });
    q.add('x');
    twin.add('y');
    other.add('z');
    expect(await value(registry, 'workqueue_depth', { name: 'pvc' })).toBe(2);
    expect(await value(registry, 'workqueue_depth', { name: 'volumes' })).toBe(1);
    await q.get();
    await twin.get();
    await clock.advance(1000);
    expect(await value(registry, 'workqueue_unfinished_work_seconds', { name: 'pvc' })).toBe(2);
  });

  it('records nothing for an unnamed queue, as in Go', async () => {
    const registry = new Registry();
    const q = new RateLimitingQueue<string>({ metrics: workQueueMetrics(registry), rateLimiter: new ItemExponentialFailureRateLimiter(1, 1) });
    q.add('a');
    expect(await registry.metrics()).toBe('\n');
  });
});
