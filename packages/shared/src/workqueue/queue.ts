// A controller work queue with client-go semantics:
//  - dedup: a key added while it is still queued is queued once;
//  - exclusivity: a key is handed to one worker at a time; re-added while processing, it is kept
//    "dirty" and queued again when done() is called, so it runs exactly once more;
//  - get() after shutDown() still returns what is queued, then undefined.
// State changes are synchronous: nothing awaits between checking and setting dirty/processing.
import { onSignalAbort } from '../lifecycle/abort-fanout.js';
import { realClock, type Clock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import { Deque } from './deque.js';
import { noQueueMetrics, type QueueMetrics, type WorkQueueMetricsProvider } from './metrics.js';

/** Keys are compared with SameValueZero (Map/Set semantics): use strings or interned objects. */
export type QueueKey = NonNullable<unknown>;

export interface WorkQueueOptions {
  /** Queue name; the `name` label of the workqueue metrics. Metrics are off without a name, as in Go. */
  name?: string;
  clock?: Clock;
  metrics?: WorkQueueMetricsProvider;
}

interface Waiter<K> {
  resolve(key: K | undefined): void;
  settled: boolean;
}

export class WorkQueue<K extends QueueKey> implements Disposable {
  readonly name: string;
  protected readonly clock: Clock;
  protected readonly metrics: QueueMetrics<K>;
  readonly #queue = new Deque<K>();
  readonly #dirty = new Set<K>();
  readonly #processing = new Set<K>();
  /** Pending get() calls; only non-empty while the queue is empty. Settled ones are skipped lazily. */
  readonly #waiters = new Deque<Waiter<K>>();
  #shuttingDown = false;
  #drainWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? '';
    this.clock = opts.clock ?? realClock;
    this.metrics = opts.metrics && this.name ? opts.metrics.forQueue<K>(this.name, this.clock) : noQueueMetrics<K>();
  }

  /** Queues `key` unless it is already queued; a key being processed is queued again after done(). */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.metrics.add(key);
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#handOff();
  }

  /** Number of keys waiting to be handed out (not counting those being processed). */
  len(): number {
    return this.#queue.length;
  }

  /** Number of keys handed out and not yet done(). */
  processingCount(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The next key to process; waits while the queue is empty. Resolves undefined once the queue is
   * shut down and empty, or when `signal` aborts. Every key returned must be passed to done().
   */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    return new Promise<K | undefined>((resolve) => {
      const onAbort = () => {
        waiter.resolve(undefined);
        this.#compactWaiters();
      };
      const waiter: Waiter<K> = {
        settled: false,
        resolve: (key) => {
          if (waiter.settled) return;
          waiter.settled = true;
          unlisten?.();
          resolve(key);
        },
      };
      const unlisten = signal ? onSignalAbort(signal, onAbort) : undefined;
      this.#waiters.push(waiter);
    });
  }

  /** Marks `key` finished; if it was added again meanwhile, it goes back on the queue. */
  done(key: K): void {
    // A key that is not being processed has nothing to finish (client-go would queue it twice).
    if (!this.#processing.has(key)) return;
    this.metrics.done(key);
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#queue.push(key);
      this.#handOff();
    } else if (this.#processing.size === 0) {
      this.#releaseDrainWaiters();
    }
  }

  /** Stops accepting keys; get() returns what is still queued, then undefined. Does not wait. */
  shutDown(): void {
    this.#beginShutdown();
    // Like client-go, a plain shutDown also ends a shutDownWithDrain that is still waiting.
    this.#releaseDrainWaiters();
  }

  /** Stops accepting keys and resolves once every key handed out has been marked done(). */
  shutDownWithDrain(): Promise<void> {
    this.#beginShutdown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  dispose(): void {
    this.shutDown();
  }

  protected onShutdown(): void {
    // for subclasses
  }

  #beginShutdown(): void {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      this.metrics.close();
      this.onShutdown();
    }
    // Waiters exist only while the queue is empty, so they all get the "shut down" answer.
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) w.resolve(undefined);
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #take(): K {
    const key = this.#queue.shift()!;
    this.metrics.get(key);
    this.#processing.add(key);
    this.#dirty.delete(key);
    return key;
  }

  /** Drops aborted get() calls once they make up most of the waiter list (workers come and go). */
  #compactWaiters(): void {
    if (this.#waiters.length < 64) return;
    let settled = 0;
    for (const w of this.#waiters) if (w.settled) settled++;
    if (settled * 2 < this.#waiters.length) return;
    const live = [...this.#waiters].filter((w) => !w.settled);
    this.#waiters.clear();
    for (const w of live) this.#waiters.push(w);
  }

  /** Gives queued keys to waiting get() calls; the key is marked processing before the waiter runs. */
  #handOff(): void {
    while (this.#queue.length > 0) {
      let waiter = this.#waiters.shift();
      while (waiter?.settled) waiter = this.#waiters.shift();
      if (!waiter) return;
      waiter.resolve(this.#take());
    }
  }
}
