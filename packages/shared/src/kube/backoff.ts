// Jittered exponential backoff for the reflector's retries, with client-go's reflector defaults:
// 800ms doubling to 30s, full jitter on top, forgotten after 2 minutes without failures so a
// healthy informer that hits one error later starts again at 800ms.

import type { Clock } from '../lifecycle/clock.js';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Each delay is d * (1 + jitter * random()), then capped at maxMs. */
  jitter?: number;
  /** Reset to initialMs when the previous failure is older than this. */
  resetAfterMs?: number;
}

export const REFLECTOR_BACKOFF_DEFAULTS: Required<BackoffOptions> = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 1,
  resetAfterMs: 120_000,
};

export class JitteredBackoff {
  readonly #opts: Required<BackoffOptions>;
  readonly #clock: Clock;
  readonly #random: () => number;
  #current: number;
  #lastFailureAt: number | undefined;

  constructor(clock: Clock, random: () => number = Math.random, opts: BackoffOptions = {}) {
    this.#opts = { ...REFLECTOR_BACKOFF_DEFAULTS, ...opts };
    this.#clock = clock;
    this.#random = random;
    this.#current = this.#opts.initialMs;
  }

  /** The delay before the next attempt; each call counts as one more failure. */
  next(): number {
    const now = this.#clock.now();
    if (this.#lastFailureAt !== undefined && now - this.#lastFailureAt > this.#opts.resetAfterMs) {
      this.#current = this.#opts.initialMs;
    }
    this.#lastFailureAt = now;
    const base = this.#current;
    this.#current = Math.min(this.#opts.maxMs, this.#current * this.#opts.factor);
    return Math.min(this.#opts.maxMs, Math.round(base * (1 + this.#opts.jitter * this.#random())));
  }

  reset(): void {
    this.#current = this.#opts.initialMs;
    this.#lastFailureAt = undefined;
  }
}
