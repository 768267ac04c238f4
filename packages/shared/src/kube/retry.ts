// retryOnConflict: run a read-modify-write again when the write lost an optimistic-concurrency
// race (409 Conflict), with client-go's retry.DefaultRetry: 5 attempts, 10ms apart, 10% jitter.

import type { Clock } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import { isConflict } from './errors.js';

export interface RetryBackoff {
  /** Attempts in total (client-go's Steps). */
  steps: number;
  durationMs: number;
  factor: number;
  jitter: number;
  /** Upper bound for one delay; 0 = none. */
  capMs?: number;
}

export const DEFAULT_RETRY: RetryBackoff = { steps: 5, durationMs: 10, factor: 1, jitter: 0.1 };

export interface RetryOptions {
  backoff?: RetryBackoff;
  clock?: Clock;
  random?: () => number;
  signal?: AbortSignal;
  /** Which errors are worth another attempt; isConflict by default. */
  retriable?: (err: unknown) => boolean;
}

/**
 * Calls fn until it succeeds, fails with a non-retriable error, or the attempts run out (then
 * the last error is thrown). fn must re-read the object each time: that is what resolves the
 * conflict.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const b = opts.backoff ?? DEFAULT_RETRY;
  const clock = opts.clock ?? realClock;
  const random = opts.random ?? Math.random;
  const retriable = opts.retriable ?? isConflict;
  let duration = b.durationMs;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    try {
      return await fn(attempt);
    } catch (err) {
      if (!retriable(err) || attempt >= b.steps) throw err;
    }
    let delay = duration * (1 + (b.jitter > 0 ? b.jitter * random() : 0));
    if (b.capMs) delay = Math.min(delay, b.capMs);
    duration *= b.factor;
    if (b.capMs) duration = Math.min(duration, b.capMs);
    await clock.sleep(Math.round(delay), opts.signal);
  }
}
