// addAfter(key, ms): the key is added once its delay has passed. One waiting entry per key (a
// second addAfter can only bring it forward) and a single timer for the earliest entry, so 10k
// waiting keys cost one timer, not 10k.
import type { TimerHandle } from '../lifecycle/clock.js';
import { WorkQueue, type QueueKey, type WorkQueueOptions } from './queue.js';
import { WaitingHeap } from './waiting-heap.js';

/** Longest single timer; re-armed after, which also bounds the effect of a wall-clock jump (Go uses 10 s too). */
const MAX_WAIT_MS = 10_000;

export class DelayingQueue<K extends QueueKey> extends WorkQueue<K> {
  readonly #waiting = new WaitingHeap<K>();
  #timer: TimerHandle | undefined;
  #timerDue = Infinity;

  constructor(opts: WorkQueueOptions = {}) {
    super(opts);
  }

  /** Adds `key` after `delayMs`; at once when the delay is not positive. Counts as a retry in the metrics. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    this.metrics.retry();
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    this.#waiting.upsert(key, this.clock.now() + delayMs);
    this.#arm();
  }

  /** Number of keys waiting for their delay to pass. */
  waitingCount(): number {
    return this.#waiting.size;
  }

  protected override onShutdown(): void {
    this.#waiting.clear();
    this.#disarm();
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = this.clock.now();
    for (let key = this.#waiting.popReady(now); key !== undefined; key = this.#waiting.popReady(now)) this.add(key);
    this.#arm();
  };

  #arm(): void {
    const readyAt = this.#waiting.peekReadyAt();
    if (readyAt === undefined) {
      this.#disarm();
      return;
    }
    const due = Math.min(readyAt, this.clock.now() + MAX_WAIT_MS);
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    this.#disarm();
    this.#timerDue = due;
    this.#timer = this.clock.setTimeout(this.#fire, due - this.clock.now());
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }
}
