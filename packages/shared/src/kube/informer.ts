// Reflector + store + event handlers: what controllers use to see objects and hear about changes.
//
// Semantics (client-go's shared informer, with the gaps of client-node's informer closed):
//   - onUpdate gets (old, new); the same resourceVersion delivered twice (a resumed watch, a
//     relist of an unchanged object) is not reported again.
//   - After a relist, objects that vanished are reported to onDelete as a tombstone
//     { key, lastKnown } (client-go's DeletedFinalStateUnknown): the delete itself was missed.
//   - A handler added after the cache filled gets onAdd for every cached object first.
//   - Resync: every resyncPeriodMs (per handler; 0 = never) each cached object is re-delivered
//     as onUpdate(obj, obj), so level-triggered controllers retry what they left unfinished.
//   - Handlers run synchronously and should only enqueue keys. An exception (or a rejected
//     promise) is caught, logged and counted: it never crashes the process or stops the watch.

import type { Clock, TimerHandle } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import { toDisposable } from '../lifecycle/disposable.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import type { ListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import { objectKey } from './object.js';
import type { ReflectorOptions, ReflectorState, ReflectorStats } from './reflector.js';
import { Reflector } from './reflector.js';
import type { IndexFunc, StoreOptions } from './store.js';
import { Store } from './store.js';

/** A delete the informer did not see happen: the object vanished between two lists. */
export interface Tombstone<T> {
  readonly tombstone: true;
  readonly key: string;
  readonly lastKnown: T;
}

export function isTombstone<T>(v: T | Tombstone<T>): v is Tombstone<T> {
  return typeof v === 'object' && v !== null && (v as Tombstone<T>).tombstone === true && 'lastKnown' in v;
}

/** The object of an onDelete call, tombstone or not. */
export function deletedObject<T>(v: T | Tombstone<T>): T {
  return isTombstone(v) ? v.lastKnown : v;
}

export interface EventHandlers<T> {
  /** isInitialList: the object came with the first list (startup), not from a later change. */
  onAdd?(obj: T, isInitialList: boolean): unknown;
  onUpdate?(oldObj: T, newObj: T): unknown;
  onDelete?(obj: T | Tombstone<T>): unknown;
}

export interface HandlerOptions {
  /** Re-deliver every cached object as onUpdate(obj, obj) this often; 0 (default) = never. */
  resyncPeriodMs?: number;
  /** For log lines and the error counter. */
  name?: string;
}

export interface InformerOptions<T extends KubeObject>
  extends Pick<ReflectorOptions, 'pageSize' | 'listFromWatchCache' | 'watchList' | 'minWatchTimeoutSeconds' | 'inactivityTimeoutMs' | 'minWatchDurationMs' | 'backoff' | 'onStateChange'> {
  listWatcher: ListWatcher;
  indexers?: Record<string, IndexFunc<T>>;
  /** See Store: trims objects before caching; must keep identity and lifecycle metadata. */
  transform?: StoreOptions<T>['transform'];
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
}

interface Registration<T> {
  handlers: EventHandlers<T>;
  name: string;
  resyncPeriodMs: number;
  timer: TimerHandle | undefined;
  active: boolean;
}

type SyncWaiter = { resolve: () => void; reject: (err: unknown) => void };

export class Informer<T extends KubeObject = KubeObject> implements Disposable {
  readonly store: Store<T>;
  /** The store has a transform, which the reflector applies while parsing lists. */
  readonly #prepares: boolean;
  readonly #reflector: Reflector;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #description: string;
  readonly #registrations: Registration<T>[] = [];
  #synced = false;
  #syncWaiters: SyncWaiter[] = [];
  #handlerErrors = 0;
  #running: Promise<void> | undefined;
  #active = false;
  #stop: AbortController | undefined;
  #disposed = false;

  constructor(opts: InformerOptions<T>) {
    this.#clock = opts.clock ?? realClock;
    this.#description = opts.listWatcher.description;
    this.#log = (opts.logger ?? discardLogger).withValues({ informer: this.#description });
    this.store = new Store<T>({ indexers: opts.indexers, transform: opts.transform });
    this.#prepares = opts.transform !== undefined;
    this.#reflector = new Reflector({
      listWatcher: opts.listWatcher,
      sink: {
        ...(opts.transform ? { prepare: (obj: KubeObject) => this.store.prepare(obj) } : {}),
        replace: (items) => this.#onReplace(items),
        upsert: (obj) => this.#onUpsert(obj),
        delete: (obj) => this.#onDelete(obj),
      },
      clock: this.#clock,
      random: opts.random,
      logger: opts.logger,
      pageSize: opts.pageSize,
      listFromWatchCache: opts.listFromWatchCache,
      watchList: opts.watchList,
      minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds,
      inactivityTimeoutMs: opts.inactivityTimeoutMs,
      minWatchDurationMs: opts.minWatchDurationMs,
      backoff: opts.backoff,
      onStateChange: opts.onStateChange,
    });
  }

  get description(): string {
    return this.#description;
  }

  get reflectorState(): ReflectorState {
    return this.#reflector.state;
  }

  get reflectorStats(): Readonly<ReflectorStats> {
    return this.#reflector.stats;
  }

  get lastSyncResourceVersion(): string {
    return this.#reflector.lastSyncResourceVersion;
  }

  /** Handler calls that threw or rejected. */
  get handlerErrors(): number {
    return this.#handlerErrors;
  }

  get isRunning(): boolean {
    return this.#active;
  }

  /** True once the first complete list is in the store. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when synced; rejects if the signal aborts or the informer is disposed first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#disposed) return Promise.reject(new Error(`informer ${this.#description} was disposed before it synced`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter: SyncWaiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.#syncWaiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Registers handlers; dispose the result to remove them. If the cache already holds objects,
   * onAdd is called for each of them first.
   */
  addEventHandler(handlers: EventHandlers<T>, opts: HandlerOptions = {}): Disposable {
    const reg: Registration<T> = {
      handlers,
      name: opts.name ?? `handler-${this.#registrations.length + 1}`,
      resyncPeriodMs: opts.resyncPeriodMs ?? 0,
      timer: undefined,
      active: true,
    };
    this.#registrations.push(reg);
    for (const obj of this.store.list()) this.#call(reg, 'onAdd', () => handlers.onAdd?.(obj, !this.#synced));
    if (this.#active) this.#scheduleResync(reg);
    return toDisposable(() => {
      reg.active = false;
      if (reg.timer !== undefined) this.#clock.clearTimeout(reg.timer);
      const i = this.#registrations.indexOf(reg);
      if (i >= 0) this.#registrations.splice(i, 1);
    });
  }

  /** Lists and watches until the signal aborts or dispose() is called. Never rejects. */
  run(signal?: AbortSignal): Promise<void> {
    if (this.#running) return this.#running;
    if (this.#disposed) return Promise.resolve();
    const stop = new AbortController();
    this.#stop = stop;
    const onAbort = () => stop.abort(signal?.reason);
    if (signal?.aborted) stop.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.#active = true;
    for (const reg of this.#registrations) this.#scheduleResync(reg);
    this.#running = (async () => {
      try {
        await this.#reflector.run(stop.signal);
      } catch (err) {
        this.#log.error('Informer stopped unexpectedly', err);
      } finally {
        this.#active = false;
        signal?.removeEventListener('abort', onAbort);
        for (const reg of this.#registrations) {
          if (reg.timer !== undefined) this.#clock.clearTimeout(reg.timer);
          reg.timer = undefined;
        }
        if (!this.#synced) this.#rejectWaiters(new Error(`informer ${this.#description} stopped before it synced`));
      }
    })();
    return this.#running;
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#stop?.abort(new Error('informer disposed'));
    await this.#running;
    this.#rejectWaiters(new Error(`informer ${this.#description} was disposed before it synced`));
  }

  #rejectWaiters(err: Error): void {
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  #onReplace(items: KubeObject[]): void {
    const initial = !this.#synced;
    // With a transform, the reflector prepared the items while parsing the list (sink.prepare).
    const { added, updated, deleted } = this.store.replace(items, this.#prepares);
    for (const obj of added) this.#dispatch('onAdd', (h) => h.onAdd?.(obj, initial));
    for (const u of updated) this.#dispatch('onUpdate', (h) => h.onUpdate?.(u.old, u.new));
    for (const d of deleted) {
      const tomb: Tombstone<T> = { tombstone: true, key: d.key, lastKnown: d.old };
      this.#dispatch('onDelete', (h) => h.onDelete?.(tomb));
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#log.v(2).info('Caches populated', { objects: this.store.size });
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  #onUpsert(raw: KubeObject): void {
    const { old, stored } = this.store.upsert(raw);
    if (!old) {
      this.#dispatch('onAdd', (h) => h.onAdd?.(stored, false));
    } else if (old.metadata?.resourceVersion !== stored.metadata?.resourceVersion || old.metadata?.uid !== stored.metadata?.uid) {
      this.#dispatch('onUpdate', (h) => h.onUpdate?.(old, stored));
    }
  }

  #onDelete(raw: KubeObject): void {
    const key = objectKey(raw);
    const old = this.store.delete(key);
    // Unknown to the cache (already gone after a relist): nothing to report, as in client-go.
    if (!old) return;
    let last: T;
    try {
      // The event carries the final state; fall back to the cached one if the transform fails.
      last = this.store.prepare(raw);
    } catch {
      last = old;
    }
    this.#dispatch('onDelete', (h) => h.onDelete?.(last));
  }

  #dispatch(kind: keyof EventHandlers<T>, fn: (h: EventHandlers<T>) => unknown): void {
    for (const reg of [...this.#registrations]) {
      if (reg.active) this.#call(reg, kind, () => fn(reg.handlers));
    }
  }

  #call(reg: Registration<T>, kind: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, (err: unknown) => this.#handlerFailed(reg, kind, err));
      }
    } catch (err) {
      this.#handlerFailed(reg, kind, err);
    }
  }

  #handlerFailed(reg: Registration<T>, kind: string, err: unknown): void {
    this.#handlerErrors++;
    this.#log.error('Event handler failed', err, { handler: reg.name, event: kind });
  }

  #scheduleResync(reg: Registration<T>): void {
    if (reg.resyncPeriodMs <= 0 || !reg.active || reg.timer !== undefined) return;
    reg.timer = this.#clock.setTimeout(() => {
      reg.timer = undefined;
      if (!reg.active || !this.#active) return;
      if (this.#synced) {
        for (const obj of this.store.list()) this.#call(reg, 'onUpdate', () => reg.handlers.onUpdate?.(obj, obj));
      }
      this.#scheduleResync(reg);
    }, reg.resyncPeriodMs);
  }
}
