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
// Which resourceVersion a LIST asks for, as client-go's reflector:
//   - the first list: "0", any state the server has, served from its watch cache in one answer
//     (the cache ignores limit), so start-up costs one request per resource instead of one per
//     500 objects through the client's rate limiter, and no etcd read. A server without a watch
//     cache answers in pages; the reflector then keeps paging for later lists.
//   - a relist (after a 410 on the watch): the last synced resourceVersion, "not older than",
//     without paging so the watch cache can serve it; the store never goes back in time.
//   - if the server says that version is unavailable (410 Expired, or "too large resource
//     version" from a lagging cache): at once again with "" (a consistent, paged read from etcd).
// With watchList (the sidecars turn it on) the initial state comes as a streaming list instead:
// one WATCH with sendInitialEvents=true whose ADDED events up to the bookmark annotated
// k8s.io/initial-events-end are the list, and which then goes on as the watch (client-go's
// WatchList, what the Go sidecars do): one request per resource at start-up instead of two, and
// objects arrive one by one instead of as one big body. A server that refuses it (422 and the
// like) or three failed attempts in a row send the reflector back to LIST and WATCH.

import type { Clock, TimerHandle } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import type { BackoffOptions } from './backoff.js';
import { JitteredBackoff } from './backoff.js';
import { KubeApiError, isGone, isTooLargeResourceVersion, isTooManyRequests } from './errors.js';
import type { ListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import { objectKey } from './object.js';
import type { KubeStatus } from './errors.js';

export type ReflectorState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

/** Where the reflector delivers what it learns (the informer implements it). */
export interface ReflectorSink {
  /**
   * The cache's form of a listed object (its transform), applied as each item is parsed so the
   * untrimmed objects of a big list never exist all at once. replace() then gets prepared items.
   */
  prepare?(obj: KubeObject): KubeObject;
  /** A complete list: the new content of the cache (prepared, if prepare is set). */
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
  /**
   * List first with resourceVersion=0 (from the watch cache) and relist from the last synced
   * version, as client-go. Default true; false always lists the latest state, paged, from etcd.
   */
  listFromWatchCache?: boolean;
  /**
   * Get the initial state as a streaming list (a watch with sendInitialEvents, client-go's
   * WatchList): one request instead of LIST + WATCH, objects one by one instead of one big body.
   * Falls back to LIST and WATCH on a server that refuses it. Default false.
   */
  watchList?: boolean;
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
/** The bookmark annotation that ends the initial state of a streaming list. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';
/** Streaming lists failing this many times in a row make the reflector use LIST and WATCH. */
const MAX_STREAMING_LIST_FAILURES = 3;
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
  readonly #prepare: ((obj: KubeObject) => KubeObject) | undefined;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #pageSize: number;
  readonly #listFromWatchCache: boolean;
  readonly #watchList: boolean;
  /** Streaming lists that failed in a row; at MAX_STREAMING_LIST_FAILURES the reflector uses LIST. */
  #watchListFailures = 0;
  /** The last list or watch found our resourceVersion unavailable: the next list reads from etcd. */
  #rvUnavailable = false;
  /** The server paged a resourceVersion=0 list: no watch cache here, so keep paging. */
  #paginatedResult = false;
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
    this.#prepare = opts.sink.prepare ? (obj) => opts.sink.prepare!(obj) : undefined;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#log = (opts.logger ?? discardLogger).withValues({ reflector: opts.listWatcher.description });
    this.#pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#listFromWatchCache = opts.listFromWatchCache ?? true;
    this.#watchList = opts.watchList ?? false;
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
        if (needList && this.#useWatchList()) {
          // A streaming list: the initial state arrives on a watch that then goes on as the watch.
          this.#setState('listing');
          const progress = { synced: false };
          const outcome = await this.#watchOnce(signal, progress);
          if (!progress.synced) {
            if (outcome.kind === 'stopped' || signal.aborted) break;
            await this.#streamingListFailed(outcome, signal);
            continue;
          }
          this.#watchListFailures = 0;
          needList = await this.#afterWatch(outcome, signal);
          continue;
        }
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
        needList = await this.#afterWatch(await this.#watchOnce(signal), signal);
      }
    } finally {
      this.#running = false;
      this.#setState('stopped');
    }
  }

  /** Handles how a watch ended; true when the next step is a (re)list. */
  async #afterWatch(outcome: WatchOutcome, signal: AbortSignal): Promise<boolean> {
    let needList = false;
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
    return needList;
  }

  #useWatchList(): boolean {
    return this.#watchList && this.#watchListFailures < MAX_STREAMING_LIST_FAILURES;
  }

  /** A streaming list ended before the initial state was complete. */
  async #streamingListFailed(outcome: WatchOutcome, signal: AbortSignal): Promise<void> {
    const err = outcome.kind === 'failed' ? outcome.error : outcome.kind === 'expired' ? 'resource version expired' : 'the server closed the stream before the initial state was complete';
    this.#stats.listErrors++;
    this.#stats.lastError = errText(err);
    if (outcome.kind === 'failed' && isStreamingListRefused(outcome.error)) {
      // A server without streaming lists (WatchList off): LIST and WATCH from now on, at once.
      this.#watchListFailures = MAX_STREAMING_LIST_FAILURES;
      this.#log.info('The server does not serve streaming lists; using LIST and WATCH', { err: errText(err) });
      return;
    }
    this.#watchListFailures++;
    if (outcome.kind === 'expired') this.#rvUnavailable = true;
    this.#log.error('Failed to list (streaming); will retry', err, { resource: this.#lw.description, attempt: this.#watchListFailures });
    await this.#wait(signal, outcome.kind === 'failed' ? outcome.retryAfterMs : undefined);
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

  /** The resourceVersion the next list asks for (see the header). */
  #relistResourceVersion(): string {
    if (!this.#listFromWatchCache || this.#rvUnavailable) return '';
    return this.#rv ?? '0';
  }

  async #list(signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    let requestRv = this.#relistResourceVersion();
    let result: { items: KubeObject[]; rv: string; pages: number };
    try {
      result = await this.#pagedList(requestRv, signal);
    } catch (err) {
      if (requestRv === '' || signal.aborted || !(isGone(err) || isTooLargeResourceVersion(err))) throw err;
      // That version is unavailable (compacted, or ahead of a lagging cache): a consistent read now.
      this.#rvUnavailable = true;
      this.#log.v(2).info('List at a resourceVersion the server does not have; listing the latest state', { resourceVersion: requestRv, err: errText(err) });
      requestRv = '';
      result = await this.#pagedList(requestRv, signal);
    }
    if (requestRv === '0' && result.pages > 1) this.#paginatedResult = true;
    this.#rvUnavailable = false;
    const { items, rv, pages } = result;
    if (!rv) throw new Error(`list of ${this.#lw.description} returned no resourceVersion`);
    this.#stats.lists++;
    this.#sink.replace(items, rv);
    this.#rv = rv;
    this.#log.v(2).info('Listed', { objects: items.length, pages, resourceVersion: rv, requestedResourceVersion: requestRv, durationMs: this.#clock.now() - started });
  }

  async #pagedList(resourceVersion: string, signal: AbortSignal): Promise<{ items: KubeObject[]; rv: string; pages: number }> {
    // A relist from a given version goes unpaged so the watch cache can serve it (it serves a
    // version other than 0 only without a limit), unless the server showed it has no cache.
    let pageSize = resourceVersion !== '' && resourceVersion !== '0' && !this.#paginatedResult ? 0 : this.#pageSize;
    // A list-watcher may ignore eachItem (test doubles do): prepare what it did not.
    const prepare = this.#prepare;
    const prepared = prepare ? new WeakSet<KubeObject>() : undefined;
    const eachItem = prepare
      ? (obj: KubeObject): KubeObject => {
          const out = prepare(obj);
          prepared!.add(out);
          return out;
        }
      : undefined;
    let expiries = 0;
    let items: KubeObject[] = [];
    let cont: string | undefined;
    let rv = '';
    let pages = 0;
    for (;;) {
      let page;
      try {
        // The continue token carries the snapshot; resourceVersion goes only with the first page.
        page = await this.#lw.list({
          limit: pageSize > 0 ? pageSize : undefined,
          continue: cont,
          resourceVersion: cont ? undefined : resourceVersion || undefined,
          signal,
          eachItem,
        });
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
      for (const item of page.items) items.push(prepare && !prepared!.has(item) ? prepare(item) : item);
      cont = page.metadata?.continue || undefined;
      if (!cont) {
        rv = page.metadata?.resourceVersion ?? '';
        break;
      }
    }
    return { items, rv, pages };
  }

  /**
   * One watch. With `progress` it is a streaming list (sendInitialEvents): events up to the
   * bookmark annotated k8s.io/initial-events-end are the initial state, delivered to the sink as
   * one replace(); progress.synced tells whether that happened; the stream then goes on as a watch.
   */
  async #watchOnce(signal: AbortSignal, progress?: { synced: boolean }): Promise<WatchOutcome> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // One timer per quiet period, not one per event: each event only notes the time, and the
    // timer, when it fires early, waits again for what is left of the period.
    let timer: TimerHandle | undefined;
    let lastActivity = 0;
    const checkInactivity = () => {
      timer = undefined;
      const idle = this.#clock.now() - lastActivity;
      if (idle >= this.#inactivityMs) {
        this.#stats.inactivityAborts++;
        ac.abort(new InactivityError(`no watch event or bookmark for ${this.#inactivityMs}ms`));
        return;
      }
      // A clock that went back counts as activity now.
      if (idle < 0) lastActivity = this.#clock.now();
      timer = this.#clock.setTimeout(checkInactivity, idle < 0 ? this.#inactivityMs : this.#inactivityMs - idle);
    };
    const resetTimer = () => {
      if (this.#inactivityMs <= 0) return;
      lastActivity = this.#clock.now();
      if (timer === undefined) timer = this.#clock.setTimeout(checkInactivity, this.#inactivityMs);
    };
    const started = this.#clock.now();
    let events = 0;
    let progressed = false;
    const timeoutSeconds = Math.floor(this.#minWatchTimeout * (1 + this.#random()));
    try {
      if (signal.aborted) return { kind: 'stopped' };
      resetTimer();
      this.#stats.watches++;
      const initial = progress !== undefined;
      // client-go: a streaming list asks for the last synced version ("" at first or when that version is unavailable).
      const resourceVersion = initial ? (this.#rvUnavailable ? '' : (this.#rv ?? '')) : (this.#rv ?? '');
      this.#log.v(4).info(initial ? 'Starting streaming list' : 'Starting watch', { resourceVersion, timeoutSeconds });
      const stream = await this.#lw.watch({ resourceVersion, timeoutSeconds, allowWatchBookmarks: true, signal: ac.signal, ...(initial ? { sendInitialEvents: true } : {}) });
      let initialState: Map<string, KubeObject> | undefined = initial ? new Map() : undefined;
      for await (const ev of stream) {
        resetTimer();
        events++;
        const obj = ev.object;
        if (initialState && ev.type !== 'ERROR') {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') {
            const stored = this.#prepare ? this.#prepare(obj) : obj;
            initialState.set(objectKey(stored), stored);
          } else if (ev.type === 'DELETED') {
            initialState.delete(objectKey(obj));
          } else if (ev.type === 'BOOKMARK' && obj.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') {
            const rv = obj.metadata.resourceVersion;
            if (!rv) throw new Error(`streaming list of ${this.#lw.description}: the end bookmark has no resourceVersion`);
            const items = [...initialState.values()];
            initialState = undefined;
            this.#sink.replace(items, rv);
            this.#rv = rv;
            this.#rvUnavailable = false;
            this.#stats.lists++;
            progress!.synced = true;
            progressed = true;
            this.#setState('watching');
            this.#log.v(2).info('Listed', { objects: items.length, streaming: true, resourceVersion: rv, durationMs: this.#clock.now() - started });
          }
          continue;
        }
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
            if (isTooLargeResourceVersion(err)) return this.#unavailable(progressed);
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
      if (isTooLargeResourceVersion(err)) return this.#unavailable(progressed);
      return { kind: 'failed', error: err, retryAfterMs: retryAfterMs(err) };
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // Closes the connection if the loop ended early (ERROR event, exception).
      if (!ac.signal.aborted) ac.abort(new Error('watch finished'));
    }
  }

  /** The server has not reached our resourceVersion (a lagging cache): relist the latest state, as client-go. */
  #unavailable(progressed: boolean): WatchOutcome {
    this.#rvUnavailable = true;
    return { kind: 'expired', progressed };
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

/** The server does not do streaming lists (too old, or the WatchList feature is off). */
function isStreamingListRefused(err: unknown): boolean {
  return err instanceof KubeApiError && [400, 405, 415, 422, 501].includes(err.code);
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
