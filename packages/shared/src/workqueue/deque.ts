// A growable ring buffer: O(1) push/shift at any size. Array#shift is O(n) on large arrays, and
// a controller queue routinely holds tens of thousands of keys after a relist.

const MIN_CAPACITY = 16;

export class Deque<T> {
  #buf: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#buf.length) this.#resize(this.#buf.length * 2);
    this.#buf[(this.#head + this.#length) & (this.#buf.length - 1)] = item;
    this.#length++;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined; // let the item be collected
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#length--;
    // Give memory back after a burst drains; the hysteresis (1/4) keeps this amortised O(1).
    if (this.#buf.length > MIN_CAPACITY && this.#length <= this.#buf.length / 4) this.#resize(this.#buf.length / 2);
    return item;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#buf[this.#head];
  }

  clear(): void {
    this.#buf = new Array<T | undefined>(MIN_CAPACITY);
    this.#head = 0;
    this.#length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#buf[(this.#head + i) & (this.#buf.length - 1)] as T;
  }

  #resize(capacity: number): void {
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) next[i] = this.#buf[(this.#head + i) & (this.#buf.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }
}
