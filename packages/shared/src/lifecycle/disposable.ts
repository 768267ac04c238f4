// Ownership of everything a sidecar starts: timers, watches, sockets, servers, workers.
// Whoever starts a thing registers it with an owner; disposing the owner tears it all down,
// in reverse order of registration, exactly once.

export interface Disposable {
  dispose(): void | Promise<void>;
}

export function toDisposable(fn: () => void | Promise<void>): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      return fn();
    },
  };
}

/** A set of disposables owned together. Adding to a disposed store disposes the item at once. */
export class DisposableStore implements Disposable {
  readonly #items: Disposable[] = [];
  #disposed = false;
  #disposing: Promise<void> | undefined;

  get isDisposed(): boolean {
    return this.#disposed;
  }

  add<T extends Disposable>(item: T): T {
    if (this.#disposed) {
      void Promise.resolve(item.dispose()).catch(() => undefined);
      return item;
    }
    this.#items.push(item);
    return item;
  }

  /** Registers a plain teardown function. */
  defer(fn: () => void | Promise<void>): Disposable {
    return this.add(toDisposable(fn));
  }

  /** Removes an item without disposing it (its owner changed or it ended by itself). */
  delete(item: Disposable): void {
    const i = this.#items.indexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
  }

  /** Disposes every item, last registered first; errors are collected, not thrown half-way. */
  dispose(): Promise<void> {
    if (this.#disposing) return this.#disposing;
    this.#disposed = true;
    this.#disposing = (async () => {
      const errors: unknown[] = [];
      while (this.#items.length > 0) {
        const item = this.#items.pop()!;
        try {
          await item.dispose();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, 'several disposables failed');
    })();
    return this.#disposing;
  }
}
