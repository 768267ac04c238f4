// Two lanes for VolumeAttachment work, so detaches never wait behind attaches (or the other way
// round): the Go attacher serves both from one queue and one worker pool, and a burst of slow
// or failing ControllerUnpublish calls there stalls every new attach (external-attacher #761).
//
// Each lane is a rate-limited work queue with its own workers. A VA goes to the detach lane
// when it has a deletionTimestamp, otherwise to the attach lane; a worker that finds a VA in
// the wrong lane (it changed while queued) hands it over. One VA is never processed by both
// lanes at once: a key that turns up while the other lane works on it is parked and queued
// again when that work ends. Both queues are named `csi-attacher-va`, so the workqueue metrics
// add up to exactly what the Go attacher's single queue reports.

import type { Clock, Disposable, Logger, RateLimiter, WorkQueueMetricsProvider, WorkResult } from '@csi-sidecars-ts/shared';
import { RateLimitingQueue, runWorkers } from '@csi-sidecars-ts/shared';
import type { SyncResult } from './handler.js';
import { VA_QUEUE_NAME } from './names.js';

export type Lane = 'attach' | 'detach';
export const LANES: readonly Lane[] = ['attach', 'detach'];

export interface VaLanesOptions {
  clock: Clock;
  metrics?: WorkQueueMetricsProvider;
  /** A fresh limiter per lane (per-key exponential backoff). */
  rateLimiter: () => RateLimiter<string>;
  /** The lane a VA belongs to now (from the cache). */
  laneOf: (name: string) => Lane;
  logger: Logger;
}

/** What processing a key found: 'skip' = nothing to do for this key (gone, not ours). */
export type LaneWork = (name: string, lane: Lane) => Promise<SyncResult | 'skip'>;

export class VaLanes implements Disposable {
  readonly queues: Readonly<Record<Lane, RateLimitingQueue<string>>>;
  readonly #o: VaLanesOptions;
  /** Keys being processed, with their lane. */
  readonly #inFlight = new Map<string, Lane>();
  /** Keys that came up in one lane while the other was processing them. */
  readonly #parked = new Set<string>();

  constructor(options: VaLanesOptions) {
    this.#o = options;
    const make = () => new RateLimitingQueue<string>({ name: VA_QUEUE_NAME, clock: options.clock, metrics: options.metrics, rateLimiter: options.rateLimiter() });
    this.queues = { attach: make(), detach: make() };
  }

  /** Queues a VA on the lane its current state calls for. */
  enqueue(name: string): void {
    this.queues[this.#o.laneOf(name)].add(name);
  }

  /** Keys queued, waiting for backoff, and in flight, per lane. */
  depth(lane: Lane): number {
    const q = this.queues[lane];
    return q.len() + q.waitingCount() + q.processingCount();
  }

  /** Runs the workers of both lanes until `signal` aborts. */
  run(workers: Readonly<Record<Lane, number>>, work: LaneWork, signal: AbortSignal): Promise<void> {
    return Promise.all(
      LANES.map((lane) =>
        runWorkers(this.queues[lane], workers[lane], (name) => this.#process(name, lane, work), signal, { logger: this.#o.logger }),
      ),
    ).then(() => undefined);
  }

  dispose(): void {
    for (const lane of LANES) this.queues[lane].shutDown();
  }

  async #process(name: string, lane: Lane, work: LaneWork): Promise<WorkResult> {
    if (this.#inFlight.has(name)) {
      // The other lane is working on this VA; it queues the key again when it is done.
      this.#parked.add(name);
      return undefined;
    }
    const want = this.#o.laneOf(name);
    if (want !== lane) {
      this.queues[want].add(name);
      return undefined;
    }
    this.#inFlight.set(name, lane);
    try {
      const result = await work(name, lane);
      return result === 'retry' ? { requeue: 'rateLimited' } : undefined;
    } finally {
      this.#inFlight.delete(name);
      if (this.#parked.delete(name)) this.enqueue(name);
    }
  }
}
