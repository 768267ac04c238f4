// Keeps a sink (the informer's store) in step with the apiserver: LIST, then WATCH from the
// list's resourceVersion, forever. The states and their exits:
//
//   listing   -- pages done ----------------------------------> watching
//             -- continue token expired (410) ----------------> listing (from scratch; a
//                                                               second expiry in a row lists
//                                                               without paging, like client-go's pager)
//             -- other error ---------------------------------> backoff -> listing
//   watching  -- server closed the stream cleanly ------------> watching (same RV, no delay)
//             -- ERROR event 410 / HTTP 410 ------------------> listing (full relist; after a
//                                                               backoff if the watch made no progress)
//             -- dropped connection, HTTP error, ERROR event,
//                no event or bookmark for inactivityTimeoutMs,
//                a "very short" watch with no events ----------> backoff -> watching (same RV)
//   any       -- signal aborted ------------------------------> stopped
//
// Backoff is jittered exponential, 800ms to 30s, reset after 2 minutes without failures; a 429
// with Retry-After waits as told. The resourceVersion only moves forward (bookmarks move it too),
// so a resumed watch neither replays nor skips events.
//
// Lists ask for the most recent data (no resourceVersion): paging with limit/continue is then
// honoured by every apiserver version, and the relist after a 410 cannot go back in time.

import type { Clock, TimerHandle } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import type { BackoffOptions } from './backoff.js';
import { JitteredBackoff } from './backoff.js';
import { KubeApiError, isGone, isTooManyRequests } from './errors.js';
import type { ListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import type { KubeStatus } from './errors.js';

export type ReflectorState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

/** Where the reflector delivers what it learns (the informer implements it). */
export interface ReflectorSink {
  /** A complete list: the new content of the cache. */
  replace(items: KubeObject[], resourceVersion: string): void;
  /** ADDED and MODIFIED events. */
  upsert(obj: KubeObject): void;
  /** DELETED events; obj is the object's last state. */
  delete(obj: KubeObject): void;
}

export interface ReflectorOptions {
  listWatcher: ListWatcher;
  sink: ReflectorSink;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /** LIST page size; 0 lists in one request. Default 500. */
  pageSize?: number;
  /** The server ends each watch after a random time in [min, 2*min) seconds. Default 300. */
  minWatchTimeoutSeconds?: number;
  /** Abort a watch that delivered nothing (no event, no bookmark) for this long. Default 3 min; 0 disables. */
  inactivityTimeoutMs?: number;
  /** A watch that ends cleanly sooner than this without any event counts as a failure. Default 1s. */
  minWatchDurationMs?: number;
  backoff?: BackoffOptions;
  onStateChange?: (state: ReflectorState) => void;
}

export interface ReflectorStats {
  lists: number;
  listErrors: number;
  watches: number;
  watchErrors: number;
  /** Relists caused by an expired resourceVersion (410). */
  expiredRelists: number;
  /** Lists restarted because the continue token expired. */
  expiredContinues: number;
  inactivityAborts: number;
  events: number;
  bookmarks: number;
  lastError: string | undefined;
}

export const DEFAULT_PAGE_SIZE = 500;
export const DEFAULT_MIN_WATCH_TIMEOUT_SECONDS = 300;
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 180_000;

type WatchOutcome =
  | { kind: 'stopped' }
  | { kind: 'closed'; events: number; durationMs: number }
  | { kind: 'expired'; progressed: boolean }
  | { kind: 'failed'; error: unknown; retryAfterMs?: number };

class InactivityError extends Error {
  override readonly name = 'InactivityError';
}

/** True when `next` is a newer resourceVersion than `current` (opaque non-numeric RVs always are). */
export function isNewerResourceVersion(next: string, current: string | undefined): boolean {
  if (!current) return true;
  if (/^[0-9]+$/.test(next) && /^[0-9]+$/.test(current)) return BigInt(next) > BigInt(current);
  return next !== current;
}

export class Reflector {
  readonly #lw: ListWatcher;
  readonly #sink: ReflectorSink;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #minWatchTimeout: number;
  readonly #inactivityMs: number;
  readonly #minWatchDurationMs: number;
  readonly #backoff: JitteredBackoff;
  readonly #onStateChange: ((s: ReflectorState) => void) | undefined;
  #state: ReflectorState = 'idle';
  #rv: string | undefined;
  #running = false;
  readonly #stats: ReflectorStats = {
    lists: 0,
    listErrors: 0,
    watches: 0,
    watchErrors: 0,
    expiredRelists: 0,
    expiredContinues: 0,
    inactivityAborts: 0,
    events: 0,
    bookmarks: 0,
    lastError: undefined,
  };

  constructor(opts: ReflectorOptions) {
    this.#lw = opts.listWatcher;
    this.#sink = opts.sink;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#log = (opts.logger ?? discardLogger).withValues({ reflector: opts.listWatcher.description });
    this.#pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#minWatchTimeout = opts.minWatchTimeoutSeconds ?? DEFAULT_MIN_WATCH_TIMEOUT_SECONDS;
    this.#inactivityMs = opts.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
    this.#minWatchDurationMs = opts.minWatchDurationMs ?? 1000;
    this.#backoff = new JitteredBackoff(this.#clock, this.#random, opts.backoff);
    this.#onStateChange = opts.onStateChange;
  }

  get state(): ReflectorState {
    return this.#state;
  }

  /** The resourceVersion the next watch starts from ('' before the first list). */
  get lastSyncResourceVersion(): string {
    return this.#rv ?? '';
  }

  get stats(): Readonly<ReflectorStats> {
    return { ...this.#stats };
  }

  /** Runs until the signal aborts. Never rejects: every failure is retried. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`reflector ${this.#lw.description} is already running`);
    this.#running = true;
    try {
      let needList = true;
      while (!signal.aborted) {
        if (needList) {
          this.#setState('listing');
          try {
            await this.#list(signal);
            needList = false;
          } catch (err) {
            if (signal.aborted) break;
            this.#stats.listErrors++;
            this.#stats.lastError = errText(err);
            this.#log.error('Failed to list; will retry', err, { resource: this.#lw.description });
            await this.#wait(signal, retryAfterMs(err));
            continue;
          }
        }
        this.#setState('watching');
        const outcome = await this.#watchOnce(signal);
        switch (outcome.kind) {
          case 'stopped':
            break;
          case 'closed':
            if (outcome.events === 0 && outcome.durationMs < this.#minWatchDurationMs) {
              // A server (or proxy) that closes every watch at once would otherwise get a tight loop.
              this.#stats.watchErrors++;
              this.#stats.lastError = 'very short watch: the server closed it at once without any event';
              this.#log.info('Very short watch: the server closed it at once without any event; backing off', { resourceVersion: this.#rv });
              await this.#wait(signal);
            } else {
              this.#log.v(4).info('Watch closed by the server; resuming', { resourceVersion: this.#rv, events: outcome.events });
            }
            break;
          case 'expired':
            this.#stats.expiredRelists++;
            this.#log.v(2).info('Resource version expired (410); relisting', { resourceVersion: this.#rv });
            needList = true;
            if (!outcome.progressed) await this.#wait(signal);
            break;
          case 'failed':
            this.#stats.watchErrors++;
            this.#stats.lastError = errText(outcome.error);
            this.#log.info('Watch ended with an error; resuming after backoff', { err: errText(outcome.error), resourceVersion: this.#rv });
            await this.#wait(signal, outcome.retryAfterMs);
            break;
        }
      }
    } finally {
      this.#running = false;
      this.#setState('stopped');
    }
  }

  #setState(s: ReflectorState): void {
    if (this.#state === s) return;
    this.#state = s;
    try {
      this.#onStateChange?.(s);
    } catch (err) {
      this.#log.error('onStateChange hook failed', err);
    }
  }

  async #wait(signal: AbortSignal, explicitMs?: number): Promise<void> {
    if (signal.aborted) return;
    this.#setState('backoff');
    const ms = explicitMs ?? this.#backoff.next();
    this.#log.v(4).info('Backing off', { delayMs: ms });
    try {
      await this.#clock.sleep(ms, signal);
    } catch {
      // aborted: the loop condition ends the run
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    let pageSize = this.#pageSize;
    let expiries = 0;
    let items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    let pages = 0;
    for (;;) {
      let page;
      try {
        page = await this.#lw.list({ limit: pageSize > 0 ? pageSize : undefined, continue: cont, signal });
      } catch (err) {
        if (cont && isGone(err)) {
          // The snapshot behind the continue token is gone (etcd compaction): start over.
          this.#stats.expiredContinues++;
          expiries++;
          this.#log.info('List continue token expired; restarting the list', { pagesDone: pages, fullList: expiries >= 2 });
          if (expiries >= 2) pageSize = 0;
          items = [];
          cont = undefined;
          pages = 0;
          continue;
        }
        throw err;
      }
      pages++;
      for (const item of page.items) items.push(item);
      cont = page.metadata?.continue || undefined;
      if (!cont) {
        rv = page.metadata?.resourceVersion ?? '';
        break;
      }
    }
    if (!rv) throw new Error(`list of ${this.#lw.description} returned no resourceVersion`);
    this.#stats.lists++;
    this.#sink.replace(items, rv);
    this.#rv = rv;
    this.#log.v(2).info('Listed', { objects: items.length, pages, resourceVersion: rv, durationMs: this.#clock.now() - started });
  }

  async #watchOnce(signal: AbortSignal): Promise<WatchOutcome> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: TimerHandle | undefined;
    const resetTimer = () => {
      if (this.#inactivityMs <= 0) return;
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      timer = this.#clock.setTimeout(() => {
        this.#stats.inactivityAborts++;
        ac.abort(new InactivityError(`no watch event or bookmark for ${this.#inactivityMs}ms`));
      }, this.#inactivityMs);
    };
    const started = this.#clock.now();
    let events = 0;
    let progressed = false;
    const timeoutSeconds = Math.floor(this.#minWatchTimeout * (1 + this.#random()));
    try {
      if (signal.aborted) return { kind: 'stopped' };
      resetTimer();
      this.#stats.watches++;
      this.#log.v(4).info('Starting watch', { resourceVersion: this.#rv, timeoutSeconds });
      const stream = await this.#lw.watch({ resourceVersion: this.#rv ?? '', timeoutSeconds, allowWatchBookmarks: true, signal: ac.signal });
      for await (const ev of stream) {
        resetTimer();
        events++;
        const obj = ev.object;
        switch (ev.type) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED':
            this.#stats.events++;
            this.#deliver(ev.type === 'DELETED', obj);
            this.#advance(obj);
            progressed = true;
            break;
          case 'BOOKMARK':
            this.#stats.bookmarks++;
            this.#advance(obj);
            progressed = true;
            break;
          case 'ERROR': {
            const err = KubeApiError.fromStatus(obj as KubeStatus, `watch ${this.#lw.description}`);
            if (isGone(err)) return { kind: 'expired', progressed };
            return { kind: 'failed', error: err, retryAfterMs: retryAfterMs(err) };
          }
          default:
            this.#log.v(2).info('Ignoring a watch event of unknown type', { type: ev.type });
        }
      }
      if (ac.signal.aborted) return this.#abortOutcome(signal, ac.signal, progressed);
      return { kind: 'closed', events, durationMs: this.#clock.now() - started };
    } catch (err) {
      if (ac.signal.aborted) return this.#abortOutcome(signal, ac.signal, progressed);
      if (isGone(err)) return { kind: 'expired', progressed };
      return { kind: 'failed', error: err, retryAfterMs: retryAfterMs(err) };
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // Closes the connection if the loop ended early (ERROR event, exception).
      if (!ac.signal.aborted) ac.abort(new Error('watch finished'));
    }
  }

  #abortOutcome(signal: AbortSignal, watchSignal: AbortSignal, _progressed: boolean): WatchOutcome {
    if (signal.aborted) return { kind: 'stopped' };
    const reason: unknown = watchSignal.reason;
    return { kind: 'failed', error: reason instanceof Error ? reason : new Error('watch aborted') };
  }

  #deliver(isDelete: boolean, obj: KubeObject): void {
    try {
      if (isDelete) this.#sink.delete(obj);
      else this.#sink.upsert(obj);
    } catch (err) {
      // A sink failure (transform or indexer bug) must not stop the watch; the store keeps its old view of this object.
      this.#log.error('Failed to apply a watch event', err, { deleted: isDelete, name: obj.metadata?.name, namespace: obj.metadata?.namespace });
    }
  }

  #advance(obj: KubeObject): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv && isNewerResourceVersion(rv, this.#rv)) this.#rv = rv;
  }
}

function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof KubeApiError && isTooManyRequests(err) && err.retryAfterSeconds !== undefined) {
    return Math.max(1, err.retryAfterSeconds) * 1000;
  }
  return undefined;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
