// What this controller itself last wrote, per object key.
//
//  - freshest(): the informer cache can lag behind our own writes; a sync that starts from the
//    stale copy would fail its resourceVersion precondition and back off for nothing. The Go
//    resizer writes its results into the shared cache; we keep them here instead, so other
//    controllers sharing the cache still see every real watch event.
//  - echo suppression: the watch event our own write produced carries only our change; it must
//    not start another sync (that would re-run an infeasible expansion at once, around the
//    backoff). The event may even arrive before the write's answer; updates seen while a write
//    is in flight are held and judged once the written resourceVersion is known.

import type { KubeObject } from '@csi-sidecars-ts/shared';

function rvNumber(obj: KubeObject | undefined): bigint | undefined {
  const rv = obj?.metadata?.resourceVersion;
  return rv !== undefined && /^[0-9]+$/.test(rv) ? BigInt(rv) : undefined;
}

export type UpdateHandler<T> = (oldObj: T, newObj: T) => void;

export class WriteTracker<T extends KubeObject> {
  readonly #written = new Map<string, T>();
  readonly #held = new Map<string, [T, T][]>();
  readonly #onUpdate: UpdateHandler<T>;

  /** `onUpdate` gets the updates that were held during a write and turned out not to be its echo. */
  constructor(onUpdate: UpdateHandler<T> = () => undefined) {
    this.#onUpdate = onUpdate;
  }

  /** Runs a write of `key`, remembering its result and settling the updates seen meanwhile. */
  async track(key: string, write: () => Promise<T>, unchanged?: T): Promise<T> {
    const held: [T, T][] = [];
    this.#held.set(key, held);
    let result: T | undefined;
    try {
      result = await write();
      if (result !== unchanged) this.#written.set(key, result);
      return result;
    } finally {
      if (this.#held.get(key) === held) this.#held.delete(key);
      for (const [o, n] of held) {
        if (this.isEcho(key, n)) this.#written.delete(key); // the cache has caught up
        else this.#onUpdate(o, n);
      }
    }
  }

  /**
   * Call from the update handler first. True when the update was taken care of: held until the
   * running write ends, or recognised as the echo of our last write.
   */
  absorb(key: string, oldObj: T, newObj: T): boolean {
    if (oldObj === newObj) return false; // a resync re-delivers the cached object: always relevant
    const held = this.#held.get(key);
    if (held) {
      held.push([oldObj, newObj]);
      return true;
    }
    if (!this.isEcho(key, newObj)) return false;
    // The cache now holds what we wrote: nothing left to remember (keeps memory flat).
    this.#written.delete(key);
    return true;
  }

  remember(key: string, obj: T): void {
    this.#written.set(key, obj);
  }

  forget(key: string): void {
    this.#written.delete(key);
    this.#held.delete(key);
  }

  /** The newer of the cached object and our last write of it. */
  freshest(key: string, cached: T | undefined): T | undefined {
    const written = this.#written.get(key);
    if (!written) return cached;
    if (!cached) return undefined; // deleted since we wrote it
    const a = rvNumber(cached);
    const b = rvNumber(written);
    // The cache caught up (its handlers saw the echo in the same step) or moved on.
    if (a === undefined || b === undefined || a >= b || cached.metadata?.uid !== written.metadata?.uid) {
      this.#written.delete(key);
      return cached;
    }
    return written;
  }

  /** True when `obj` is exactly the version our last write produced. */
  isEcho(key: string, obj: T): boolean {
    const written = this.#written.get(key);
    return written !== undefined && written.metadata?.resourceVersion === obj.metadata?.resourceVersion;
  }

  get size(): number {
    return this.#written.size;
  }
}
