// Names of PVs whose backing volume we deleted recently. A stale claim sync (an old event, a
// lagging cache) must not re-create a volume under a name that was just cleaned up
// (external-provisioner #1469): CreateVolume would hand out a new volume nobody deletes.

import type { Clock } from '@csi-sidecars-ts/shared';

export const RECENTLY_DELETED_TTL_MS = 10 * 60_000;

export class RecentlyDeletedVolumes {
  readonly #names = new Map<string, { until: number; uid: string | undefined }>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(clock: Clock, ttlMs = RECENTLY_DELETED_TTL_MS) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** Records that the backing volume of PV `pvName` (this incarnation: `uid`) was deleted. */
  add(pvName: string, uid?: string): void {
    this.#prune();
    this.#names.set(pvName, { until: this.#clock.now() + this.#ttlMs, uid });
  }

  has(pvName: string): boolean {
    return this.#live(pvName) !== undefined;
  }

  /** True when the backing volume of exactly this PV object was deleted already (skip a second DeleteVolume). */
  hasVolumeOf(pvName: string, uid: string | undefined): boolean {
    const e = this.#live(pvName);
    return e !== undefined && e.uid !== undefined && e.uid === uid;
  }

  #live(pvName: string): { until: number; uid: string | undefined } | undefined {
    const e = this.#names.get(pvName);
    if (e === undefined) return undefined;
    if (e.until <= this.#clock.now()) {
      this.#names.delete(pvName);
      return undefined;
    }
    return e;
  }

  get size(): number {
    return this.#names.size;
  }

  #prune(): void {
    const now = this.#clock.now();
    for (const [name, e] of this.#names) if (e.until <= now) this.#names.delete(name);
  }
}
