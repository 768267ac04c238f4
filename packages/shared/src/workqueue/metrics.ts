// client-go workqueue metrics (component-base names, help texts and buckets, label `name`), on an
// injected Registry. The two "unfinished work" gauges are computed at scrape time instead of by a
// 500 ms ticker, so they cost nothing between scrapes and are never stale.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock } from '../lifecycle/clock.js';

/** Per-queue hooks the queue calls; a no-op implementation is used when metrics are off. */
export interface QueueMetrics<K> {
  add(key: K): void;
  get(key: K): void;
  done(key: K): void;
  retry(): void;
  /** The queue shut down: stop reporting its unfinished work (the last values stay, as in Go). */
  close(): void;
}

export interface WorkQueueMetricsProvider {
  forQueue<K>(name: string, clock: Clock): QueueMetrics<K>;
}

/** 1e-8 s up to 10 s, ten buckets, as component-base's ExponentialBuckets(10e-9, 10, 10). */
export const WORKQUEUE_DURATION_BUCKETS: readonly number[] = Array.from({ length: 10 }, (_, i) => Number(`1e${i - 8}`));

interface Families {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  latency: Histogram<'name'>;
  workDuration: Histogram<'name'>;
  retries: Counter<'name'>;
  live: Set<QueueState>;
}

interface QueueState {
  name: string;
  clock: Clock;
  processingStart: Map<unknown, number>;
}

const familiesByRegistry = new WeakMap<Registry, Families>();

function families(registry: Registry): Families {
  const existing = familiesByRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const live = new Set<QueueState>();
  const unfinishedByName = (): Map<string, { total: number; oldest: number }> => {
    const out = new Map<string, { total: number; oldest: number }>();
    for (const q of live) {
      const now = q.clock.now();
      const agg = out.get(q.name) ?? { total: 0, oldest: 0 };
      for (const start of q.processingStart.values()) {
        const age = (now - start) / 1000;
        agg.total += age;
        if (age > agg.oldest) agg.oldest = age;
      }
      out.set(q.name, agg);
    }
    return out;
  };
  const created: Families = {
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers }),
    adds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    }),
    latency: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested.',
      labelNames: ['name'],
      buckets: [...WORKQUEUE_DURATION_BUCKETS],
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: [...WORKQUEUE_DURATION_BUCKETS],
      registers,
    }),
    retries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    }),
    live,
  };
  new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      'How many seconds of work has done that is in progress and hasn\'t been observed by work_duration. ' +
      'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
    labelNames: ['name'],
    registers,
    collect() {
      for (const [name, agg] of unfinishedByName()) this.set({ name }, agg.total);
    },
  });
  new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name'],
    registers,
    collect() {
      for (const [name, agg] of unfinishedByName()) this.set({ name }, agg.oldest);
    },
  });
  familiesByRegistry.set(registry, created);
  return created;
}

/**
 * Workqueue metrics on `registry`. Several queues (and several providers) may share a registry;
 * queues with the same name add up, as they do in Go.
 */
export function workQueueMetrics(registry: Registry): WorkQueueMetricsProvider {
  return {
    forQueue<K>(name: string, clock: Clock): QueueMetrics<K> {
      const f = families(registry);
      const labels = { name };
      const addTimes = new Map<K, number>();
      const state: QueueState = { name, clock, processingStart: new Map<K, number>() };
      const processingStart = state.processingStart as Map<K, number>;
      f.live.add(state);
      // Create the series at once so a fresh queue shows 0 rather than nothing.
      f.depth.inc(labels, 0);
      f.adds.inc(labels, 0);
      f.retries.inc(labels, 0);
      f.latency.zero(labels);
      f.workDuration.zero(labels);
      return {
        add(key) {
          f.adds.inc(labels);
          f.depth.inc(labels);
          if (!addTimes.has(key)) addTimes.set(key, clock.now());
        },
        get(key) {
          f.depth.dec(labels);
          const now = clock.now();
          processingStart.set(key, now);
          const added = addTimes.get(key);
          if (added !== undefined) {
            f.latency.observe(labels, (now - added) / 1000);
            addTimes.delete(key);
          }
        },
        done(key) {
          const start = processingStart.get(key);
          if (start !== undefined) {
            f.workDuration.observe(labels, (clock.now() - start) / 1000);
            processingStart.delete(key);
          }
        },
        retry() {
          f.retries.inc(labels);
        },
        close() {
          f.live.delete(state);
        },
      };
    },
  };
}

export function noQueueMetrics<K>(): QueueMetrics<K> {
  const noop = () => undefined;
  return { add: noop, get: noop, done: noop, retry: noop, close: noop };
}
