// Items waiting for their ready time (DelayingQueue.addAfter): a binary min-heap on readyAt with
// one entry per key, so a later addAfter can only move a key's time earlier (client-go semantics).

interface Entry<K> {
  key: K;
  readyAt: number;
  /** Insertion order; breaks ties so keys with the same ready time come out FIFO. */
  seq: number;
  index: number;
}

export class WaitingHeap<K> {
  readonly #heap: Entry<K>[] = [];
  readonly #byKey = new Map<K, Entry<K>>();
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Earliest ready time, or undefined when nothing waits. */
  peekReadyAt(): number | undefined {
    return this.#heap[0]?.readyAt;
  }

  has(key: K): boolean {
    return this.#byKey.has(key);
  }

  /** Adds `key`, or moves its ready time earlier if it already waits; never later. */
  upsert(key: K, readyAt: number): void {
    const existing = this.#byKey.get(key);
    if (existing) {
      if (readyAt < existing.readyAt) {
        existing.readyAt = readyAt;
        this.#up(existing.index);
      }
      return;
    }
    const entry: Entry<K> = { key, readyAt, seq: this.#seq++, index: this.#heap.length };
    this.#heap.push(entry);
    this.#byKey.set(key, entry);
    this.#up(entry.index);
  }

  /** Removes and returns the earliest key if it is ready at `now`. */
  popReady(now: number): K | undefined {
    const top = this.#heap[0];
    if (!top || top.readyAt > now) return undefined;
    const last = this.#heap.pop()!;
    if (last !== top) {
      this.#heap[0] = last;
      last.index = 0;
      this.#down(0);
    }
    this.#byKey.delete(top.key);
    return top.key;
  }

  clear(): void {
    this.#heap.length = 0;
    this.#byKey.clear();
  }

  #less(a: Entry<K>, b: Entry<K>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i]!;
    const b = this.#heap[j]!;
    this.#heap[i] = b;
    this.#heap[j] = a;
    a.index = j;
    b.index = i;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#heap[i]!, this.#heap[parent]!)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < n && this.#less(this.#heap[l]!, this.#heap[min]!)) min = l;
      if (r < n && this.#less(this.#heap[r]!, this.#heap[min]!)) min = r;
      if (min === i) return;
      this.#swap(i, min);
      i = min;
    }
  }
}
