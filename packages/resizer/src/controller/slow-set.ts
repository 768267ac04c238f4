// Keys whose last attempt failed as infeasible, remembered for a retention period so that the
// same request is retried slowly (about every --retry-interval-max) instead of with the normal
// backoff. Adding a key that is already present keeps its original time. Expiry is lazy.

import type { Clock } from '@csi-sidecars-ts/shared';

export class SlowSet {
  readonly #added = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #clock: Clock;

  constructor(retentionMs: number, clock: Clock) {
    this.#retentionMs = retentionMs;
    this.#clock = clock;
  }

  add(key: string): void {
    if (this.contains(key)) return;
    this.#added.set(key, this.#clock.now());
  }

  remove(key: string): void {
    this.#added.delete(key);
  }

  contains(key: string): boolean {
    const at = this.#added.get(key);
    if (at === undefined) return false;
    if (this.#clock.now() - at >= this.#retentionMs) {
      this.#added.delete(key);
      return false;
    }
    return true;
  }

  /** How long `key` stays in the set; 0 when it is not (or no longer) in it. */
  timeRemainingMs(key: string): number {
    const at = this.#added.get(key);
    if (at === undefined) return 0;
    return Math.max(0, at + this.#retentionMs - this.#clock.now());
  }

  get size(): number {
    return this.#added.size;
  }
}
