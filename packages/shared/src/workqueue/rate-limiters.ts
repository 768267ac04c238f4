// Retry delays for RateLimitingQueue.addRateLimited, with client-go's semantics. All durations are
// milliseconds.
import { realClock, type Clock } from '../lifecycle/clock.js';

export interface RateLimiter<K> {
  /** Delay before `key` may be retried; records one more failure for it. */
  when(key: K): number;
  /** Clears the failure history of `key` (call after it succeeded). */
  forget(key: K): void;
  /** Failures recorded for `key` since it was last forgotten. */
  numRequeues(key: K): number;
}

/** The sidecars' --retry-interval-start / --retry-interval-max defaults. */
export const DEFAULT_RETRY_INTERVAL_START_MS = 1_000;
export const DEFAULT_RETRY_INTERVAL_MAX_MS = 5 * 60_000;

/** Per key: base·2^failures, capped at max (1 s, 2 s, 4 s … 5 min with the sidecar defaults). */
export class ItemExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();

  constructor(
    readonly baseDelayMs: number,
    readonly maxDelayMs: number,
  ) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
      throw new RangeError(`exponential rate limiter: delays must be non-negative (base ${baseDelayMs} ms, max ${maxDelayMs} ms)`);
    }
  }

  when(key: K): number {
    const exp = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exp + 1);
    return Math.min(this.baseDelayMs * 2 ** exp, this.maxDelayMs);
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * One token bucket shared by all keys (golang.org/x/time/rate semantics): starts full with
 * `burst` tokens, refills at `qps`; every when() takes a token, borrowing ahead when empty, and
 * returns how long until that token exists.
 */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  #tokens: number;
  #last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`bucket rate limiter: need qps > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(_key: K): number {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.qps);
    this.#last = Math.max(now, this.#last);
    this.#tokens -= 1;
    return this.#tokens < 0 ? (-this.#tokens / this.qps) * 1000 : 0;
  }

  forget(_key: K): void {
    // a shared bucket has nothing per key
  }

  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest delay of several limiters; every limiter records the failure. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(key: K): number {
    let delay = 0;
    for (const l of this.#limiters) delay = Math.max(delay, l.when(key));
    return delay;
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    let n = 0;
    for (const l of this.#limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

/**
 * Subtracts a random part of `baseDelayMs` from each delay (never below 0), so keys that failed
 * together do not retry in lockstep. external-provisioner's node-deployment limiter does this.
 */
export class JitteredRateLimiter<K> implements RateLimiter<K> {
  constructor(
    private readonly inner: RateLimiter<K>,
    private readonly baseDelayMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  when(key: K): number {
    return Math.max(0, this.inner.when(key) - this.baseDelayMs * this.random());
  }

  forget(key: K): void {
    this.inner.forget(key);
  }

  numRequeues(key: K): number {
    return this.inner.numRequeues(key);
  }
}

/** client-go's DefaultControllerRateLimiter: max of per-key 5 ms…1000 s and a 10 qps / 100 burst bucket. */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(5, 1_000_000),
    new BucketRateLimiter<K>(10, 100, clock),
  );
}

/**
 * The sidecars' work-queue limiter: per-key exponential backoff between --retry-interval-start and
 * --retry-interval-max (the Go sidecars use no shared bucket for these queues).
 */
export function sidecarRateLimiter<K>(
  retryIntervalStartMs = DEFAULT_RETRY_INTERVAL_START_MS,
  retryIntervalMaxMs = DEFAULT_RETRY_INTERVAL_MAX_MS,
): RateLimiter<K> {
  return new ItemExponentialFailureRateLimiter<K>(retryIntervalStartMs, retryIntervalMaxMs);
}
