// Claims whose last attempt failed with InvalidArgument ("infeasible"): the driver will say the
// same again, so further attempts wait out a window instead of hammering it. The window is
// --retry-interval-max (Go always uses 5 minutes, ignoring the flag). A changed StorageClass
// (new UID) lifts the delay at once.

import type { Clock } from '@csi-sidecars-ts/shared';

interface Entry {
  sinceMs: number;
  storageClassUid: string;
}

export class SlowSet {
  readonly #entries = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #clock: Clock;

  constructor(windowMs: number, clock: Clock) {
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(claimUid: string, storageClassUid: string): void {
    this.#entries.set(claimUid, { sinceMs: this.#clock.now(), storageClassUid });
  }

  delete(claimUid: string): void {
    this.#entries.delete(claimUid);
  }

  /** Milliseconds the claim must still wait (0 = go ahead); expired or outdated entries are dropped. */
  remainingMs(claimUid: string, storageClassUid: string | undefined): number {
    const e = this.#entries.get(claimUid);
    if (!e) return 0;
    const left = e.sinceMs + this.#windowMs - this.#clock.now();
    if (left <= 0 || (storageClassUid !== undefined && e.storageClassUid !== storageClassUid)) {
      this.#entries.delete(claimUid);
      return 0;
    }
    return left;
  }
}
