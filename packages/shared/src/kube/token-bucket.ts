// Client-side rate limit for apiserver requests (client-go's --kube-api-qps/--kube-api-burst).
// Tokens refill continuously at `qps` up to `burst`. A waiter reserves its token at once, so
// waiters are served in arrival order and tryAcquire() cannot overtake them.
// Deferrable requests (events) take only a token nobody has reserved, and never the lower half
// of the burst: while the controllers' own writes queue for the limiter (or are about to: the
// "Provisioning" event comes just before the work it announces), an event waits instead of
// taking their tokens (as client-go's shared limiter lets it) — for at most maxDeferMs, after
// which it queues like any request, so events are delayed under load but never starved.

import type { Clock } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';

export interface TokenBucketOptions {
  /** Tokens per second; 0, negative or Infinity disables limiting. */
  qps: number;
  /** Bucket size (requests allowed at once after idling); at least 1. */
  burst: number;
  clock?: Clock;
  /** How long acquireDeferrable() lets reserved requests go first. Default 5 s. */
  maxDeferMs?: number;
}

export const DEFAULT_MAX_DEFER_MS = 5_000;

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: Clock;
  readonly #unlimited: boolean;
  readonly #maxDeferMs: number;
  /** Tokens deferrable requests leave to the others: half the burst. */
  readonly #keptForOrdinary: number;
  #tokens: number;
  #last: number;

  constructor(opts: TokenBucketOptions) {
    this.qps = opts.qps;
    this.burst = Math.max(1, Math.floor(opts.burst));
    this.#clock = opts.clock ?? realClock;
    this.#unlimited = !(opts.qps > 0) || !Number.isFinite(opts.qps);
    this.#maxDeferMs = Math.max(0, opts.maxDeferMs ?? DEFAULT_MAX_DEFER_MS);
    this.#keptForOrdinary = Math.floor(this.burst / 2);
    this.#tokens = this.burst;
    this.#last = this.#clock.now();
  }

  get unlimited(): boolean {
    return this.#unlimited;
  }

  /** Tokens available now (negative while waiters hold reservations). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes a token if one is available now. */
  tryAcquire(): boolean {
    if (this.#unlimited) return true;
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /**
   * Waits for a token. Resolves with the time waited in ms; rejects with the signal's reason if
   * it aborts first, and then gives the reserved token back.
   */
  async acquire(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) throw signal.reason;
    if (this.#unlimited) return 0;
    this.#refill();
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 0;
    const waitMs = Math.ceil((-this.#tokens / this.qps) * 1000);
    try {
      await this.#clock.sleep(waitMs, signal);
    } catch (err) {
      this.#tokens += 1;
      throw err;
    }
    return waitMs;
  }

  /**
   * Waits for a token no other request has reserved, leaving half the burst to the others, for
   * at most maxDeferMs; then waits like
   * acquire(). Resolves with the time waited in ms; rejects with the signal's reason if it aborts
   * first (holding no token then).
   */
  async acquireDeferrable(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) throw signal.reason;
    if (this.#unlimited) return 0;
    const start = this.#clock.now();
    for (;;) {
      this.#refill();
      const deferred = this.#clock.now() - start;
      const needed = 1 + this.#keptForOrdinary;
      if (this.#tokens >= needed) {
        this.#tokens -= 1;
        return deferred;
      }
      if (deferred >= this.#maxDeferMs) return deferred + (await this.acquire(signal));
      // When a token would be free if nobody else reserved one meanwhile; look again then.
      const untilFree = Math.max(1, Math.ceil(((needed - this.#tokens) / this.qps) * 1000));
      await this.#clock.sleep(Math.min(untilFree, this.#maxDeferMs - deferred), signal);
    }
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.qps);
      this.#last = now;
    }
  }
}
