import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { createKubeClient } from './client.js';
import type { KubeClient } from './client.js';
import type { ListWatcher } from './list-watch.js';
import { httpListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import { objectKey } from './object.js';
import { KubeApiError } from './errors.js';
import { isNewerResourceVersion, Reflector } from './reflector.js';
import type { ReflectorOptions, ReflectorSink } from './reflector.js';
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS } from './resources.js';
import { eventually } from './testing/eventually.js';
import { FakeApiServer } from './testing/fake-apiserver.js';

class RecordingSink implements ReflectorSink {
  readonly items = new Map<string, KubeObject>();
  readonly replaces: { count: number; rv: string }[] = [];
  readonly events: string[] = [];

  replace(items: KubeObject[], resourceVersion: string): void {
    this.replaces.push({ count: items.length, rv: resourceVersion });
    this.items.clear();
    for (const o of items) this.items.set(objectKey(o), o);
  }

  upsert(obj: KubeObject): void {
    this.events.push(`upsert ${objectKey(obj)}`);
    this.items.set(objectKey(obj), obj);
  }

  delete(obj: KubeObject): void {
    this.events.push(`delete ${objectKey(obj)}`);
    this.items.delete(objectKey(obj));
  }
}

let server: FakeApiServer;
let client: KubeClient;
let clock: FakeClock;
let stop: AbortController;
let running: Promise<void> | undefined;

beforeEach(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  clock = new FakeClock();
  stop = new AbortController();
  running = undefined;
});

afterEach(async () => {
  stop.abort();
  await running;
  client.dispose();
  await server.close();
});

function start(opts: Partial<ReflectorOptions> & { listWatcher?: ListWatcher } = {}): { reflector: Reflector; sink: RecordingSink } {
  const sink = new RecordingSink();
  const reflector = new Reflector({
    listWatcher: opts.listWatcher ?? httpListWatcher(client, { resource: PERSISTENT_VOLUMES }),
    sink,
    clock,
    random: () => 0,
    ...opts,
  });
  running = reflector.run(stop.signal);
  return { reflector, sink };
}

const pv = (name: string) => ({ metadata: { name }, spec: { capacity: { storage: '1Gi' } } });
const watchRequests = () => server.requests.filter((r) => r.watch);
const listRequests = () => server.requests.filter((r) => !r.watch && r.method === 'GET');

describe('Reflector', () => {
  it('lists in pages, then watches from the list resourceVersion with bookmarks and a random timeout', async () => {
    for (let i = 0; i < 23; i++) server.create(PERSISTENT_VOLUMES, pv(`pv-${String(i).padStart(2, '0')}`));
    const listRv = server.resourceVersion;
    const { reflector, sink } = start({ pageSize: 5, random: () => 0.5 });
    await eventually(() => reflector.state === 'watching' && server.openWatches() === 1, 'watch');
    expect(sink.items.size).toBe(23);
    expect(sink.replaces).toEqual([{ count: 23, rv: listRv }]);
    const lists = listRequests();
    expect(lists).toHaveLength(5);
    expect(lists.map((r) => r.query.limit)).toEqual(['5', '5', '5', '5', '5']);
    expect(lists[0]!.query.continue).toBeUndefined();
    expect(lists.slice(1).every((r) => r.query.continue)).toBe(true);
    // List items get apiVersion/kind filled in.
    expect(sink.items.get('pv-00')).toMatchObject({ apiVersion: 'v1', kind: 'PersistentVolume' });
    const w = watchRequests()[0]!;
    expect(w.query).toMatchObject({ resourceVersion: listRv, allowWatchBookmarks: 'true', timeoutSeconds: '450' });
    expect(reflector.lastSyncResourceVersion).toBe(listRv);
  });

  it('restarts the list from scratch when the continue token expires', async () => {
    for (let i = 0; i < 10; i++) server.create(PERSISTENT_VOLUMES, pv(`pv-${i}`));
    const http = httpListWatcher(client, { resource: PERSISTENT_VOLUMES });
    let expired = false;
    const lw: ListWatcher = {
      description: http.description,
      list: async (opts) => {
        if (opts.continue && !expired) {
          // etcd compacted the snapshot between two pages; one more object appeared meanwhile.
          expired = true;
          server.expireContinueTokens();
          server.create(PERSISTENT_VOLUMES, pv('pv-late'));
        }
        return http.list(opts);
      },
      watch: (opts) => http.watch(opts),
    };
    const { reflector, sink } = start({ listWatcher: lw, pageSize: 4 });
    await eventually(() => reflector.state === 'watching', 'watching');
    expect(reflector.stats.expiredContinues).toBe(1);
    expect(sink.replaces).toHaveLength(1);
    expect(sink.items.size).toBe(11);
    expect(sink.items.has('pv-late')).toBe(true);
    // Second page failed, then a fresh list of 3 pages.
    expect(listRequests().map((r) => Boolean(r.query.continue))).toEqual([false, true, false, true, true]);
  });

  it('delivers watch events and moves the resourceVersion with bookmarks', async () => {
    const { reflector, sink } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('a'));
    server.update(PERSISTENT_VOLUMES, { ...server.get(PERSISTENT_VOLUMES, 'a')!, spec: { capacity: { storage: '2Gi' } } });
    server.remove(PERSISTENT_VOLUMES, 'a');
    await eventually(() => sink.events.length === 3, 'events');
    expect(sink.events).toEqual(['upsert a', 'upsert a', 'delete a']);
    const rvAfterEvents = reflector.lastSyncResourceVersion;
    expect(rvAfterEvents).toBe(server.resourceVersion);
    // Writes to another resource move the server's resourceVersion; a bookmark tells us.
    server.create(PODS, { metadata: { name: 'p', namespace: 'ns' } });
    server.create(PODS, { metadata: { name: 'q', namespace: 'ns' } });
    server.sendBookmarks();
    await eventually(() => reflector.lastSyncResourceVersion === server.resourceVersion, 'bookmark RV');
    expect(BigInt(reflector.lastSyncResourceVersion)).toBeGreaterThan(BigInt(rvAfterEvents));
    expect(reflector.stats.bookmarks).toBe(1);
  });

  it('after a dropped connection backs off and resumes from the last resourceVersion, losing nothing', async () => {
    server.create(PERSISTENT_VOLUMES, pv('before'));
    const { reflector, sink } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('seen'));
    await eventually(() => sink.items.has('seen'), 'seen');
    const rv = reflector.lastSyncResourceVersion;
    server.dropWatches();
    await eventually(() => reflector.state === 'backoff', 'backoff');
    // Changes while disconnected.
    server.create(PERSISTENT_VOLUMES, pv('while-down'));
    server.remove(PERSISTENT_VOLUMES, 'before');
    await clock.advance(800);
    await eventually(() => sink.items.has('while-down') && !sink.items.has('before'), 'resumed');
    const rewatch = watchRequests()[1]!;
    expect(rewatch.query.resourceVersion).toBe(rv);
    // One list only, and each change delivered exactly once.
    expect(sink.replaces).toHaveLength(1);
    expect(sink.events).toEqual(['upsert seen', 'upsert while-down', 'delete before']);
    expect(reflector.stats.watchErrors).toBe(1);
  });

  it('re-watches at once after the server closes a watch cleanly', async () => {
    const { reflector } = start({ minWatchDurationMs: 0 });
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('x'));
    await eventually(() => reflector.lastSyncResourceVersion === server.resourceVersion, 'event');
    server.closeWatches();
    await eventually(() => watchRequests().length === 2 && server.openWatches() === 1, 'second watch');
    expect(watchRequests()[1]!.query.resourceVersion).toBe(server.resourceVersion);
    expect(reflector.stats.watchErrors).toBe(0);
  });

  it('relists when the watch gets an ERROR event with 410', async () => {
    const { reflector, sink } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('a'));
    await eventually(() => sink.items.has('a'), 'a');
    server.stallWatches();
    server.create(PERSISTENT_VOLUMES, pv('b'));
    server.compact();
    server.expireWatches();
    await eventually(() => sink.replaces.length === 2 && reflector.state === 'watching', 'relist');
    expect(reflector.stats.expiredRelists).toBe(1);
    expect([...sink.items.keys()].sort()).toEqual(['a', 'b']);
    expect(sink.replaces[1]!.rv).toBe(server.resourceVersion);
  });

  it('relists when resuming from a compacted resourceVersion (HTTP 410 or ERROR event)', async () => {
    for (const mode of ['event', 'http'] as const) {
      const s = await FakeApiServer.start({ expiredWatch: mode });
      const c = createKubeClient({ kubeconfig: s.writeKubeconfig(), qps: -1 });
      const ac = new AbortController();
      const sink = new RecordingSink();
      const r = new Reflector({ listWatcher: httpListWatcher(c, { resource: PERSISTENT_VOLUMES }), sink, clock, random: () => 0 });
      const done = r.run(ac.signal);
      try {
        await eventually(() => s.openWatches() === 1, 'watch');
        s.dropWatches();
        await eventually(() => r.state === 'backoff', 'backoff');
        s.create(PERSISTENT_VOLUMES, pv('after-compaction'));
        s.compact();
        await clock.advance(800);
        // The resumed watch is refused with 410 before making progress: back off, then relist.
        await eventually(() => r.state === 'backoff' && r.stats.expiredRelists === 1, `410 (${mode})`);
        await clock.advance(1600);
        await eventually(() => sink.replaces.length === 2 && r.state === 'watching', `relist (${mode})`);
        expect(sink.items.has('after-compaction')).toBe(true);
        expect(r.stats.expiredRelists).toBe(1);
      } finally {
        ac.abort();
        await done;
        c.dispose();
        await s.close();
      }
    }
  });

  describe('which resourceVersion a list asks for (client-go semantics)', () => {
    // A list-watcher over the fake server that records each list's options and can fail lists.
    function scripted(failListAt?: (rv: string | undefined) => unknown) {
      const http = httpListWatcher(client, { resource: PERSISTENT_VOLUMES });
      const calls: { rv: string | undefined; limit: number | undefined; continue: string | undefined }[] = [];
      const lw: ListWatcher = {
        description: http.description,
        list: async (opts) => {
          calls.push({ rv: opts.resourceVersion, limit: opts.limit, continue: opts.continue });
          const err = failListAt?.(opts.resourceVersion);
          if (err) throw err;
          const l = await http.list(opts);
          // The watch cache answers a resourceVersion=0 list in one piece, whatever the limit.
          if (opts.resourceVersion === '0' && l.metadata?.continue && !opts.continue) {
            return http.list({ ...opts, limit: undefined });
          }
          return l;
        },
        watch: (opts) => http.watch(opts),
      };
      return { lw, calls };
    }

    it('lists first with resourceVersion=0 (one request from the watch cache), relists from the last synced version unpaged', async () => {
      for (let i = 0; i < 12; i++) server.create(PERSISTENT_VOLUMES, pv(`pv-${i}`));
      const { lw, calls } = scripted();
      const { reflector, sink } = start({ listWatcher: lw, pageSize: 5 });
      await eventually(() => reflector.state === 'watching' && server.openWatches() === 1, 'watch');
      expect(sink.items.size).toBe(12);
      expect(calls).toEqual([{ rv: '0', limit: 5, continue: undefined }]);

      server.create(PERSISTENT_VOLUMES, pv('watched'));
      await eventually(() => sink.items.has('watched'), 'watched');
      const synced = reflector.lastSyncResourceVersion;
      server.stallWatches();
      server.create(PERSISTENT_VOLUMES, pv('late'));
      server.compact();
      server.expireWatches();
      await eventually(() => sink.replaces.length === 2 && reflector.state === 'watching', 'relist');
      // Not older than what the store already holds, and without a limit so a cache can serve it.
      expect(calls[1]).toEqual({ rv: synced, limit: undefined, continue: undefined });
      expect(sink.items.has('late')).toBe(true);
    });

    it('when the server no longer has that version, lists the latest state at once, paged', async () => {
      for (let i = 0; i < 7; i++) server.create(PERSISTENT_VOLUMES, pv(`pv-${i}`));
      let failRelist = true;
      const { lw, calls } = scripted((rv) => {
        if (rv && rv !== '0' && failRelist) {
          failRelist = false;
          return new KubeApiError(410, 'Expired', 'too old resource version');
        }
        return undefined;
      });
      const { reflector, sink } = start({ listWatcher: lw, pageSize: 5 });
      await eventually(() => reflector.state === 'watching' && server.openWatches() === 1, 'watch');
      server.create(PERSISTENT_VOLUMES, pv('watched'));
      await eventually(() => sink.items.has('watched'), 'watched');
      const synced = reflector.lastSyncResourceVersion;
      server.stallWatches();
      server.compact();
      server.expireWatches();
      await eventually(() => sink.replaces.length === 2 && reflector.state === 'watching', 'relist');
      expect(calls.slice(1).map((c) => [c.rv, c.limit, Boolean(c.continue)])).toEqual([
        [synced, undefined, false],
        [undefined, 5, false],
        [undefined, 5, true],
      ]);
      expect(reflector.stats.listErrors).toBe(0);
    });

    it('a server that pages a resourceVersion=0 list has no watch cache: later lists keep paging', async () => {
      for (let i = 0; i < 7; i++) server.create(PERSISTENT_VOLUMES, pv(`pv-${i}`));
      const { reflector, sink } = start({ pageSize: 5 }); // the fake server pages every list
      await eventually(() => reflector.state === 'watching' && server.openWatches() === 1, 'watch');
      server.create(PERSISTENT_VOLUMES, pv('watched'));
      await eventually(() => sink.items.has('watched'), 'watched');
      const synced = reflector.lastSyncResourceVersion;
      server.stallWatches();
      server.compact();
      server.expireWatches();
      await eventually(() => sink.replaces.length === 2 && reflector.state === 'watching', 'relist');
      const lists = listRequests();
      expect(lists.map((r) => [r.query.resourceVersion, r.query.limit])).toEqual([
        ['0', '5'],
        [undefined, '5'],
        [synced, '5'],
        [undefined, '5'],
      ]);
    });

    it('listFromWatchCache: false always lists the latest state', async () => {
      start({ listFromWatchCache: false });
      await eventually(() => server.openWatches() === 1, 'watch');
      expect(listRequests()[0]!.query.resourceVersion).toBeUndefined();
    });
  });

  it('prepares listed items with the sink\'s transform while parsing, also behind a list-watcher that ignores eachItem', async () => {
    for (let i = 0; i < 3; i++) server.create(PERSISTENT_VOLUMES, { ...pv(`pv-${i}`), metadata: { name: `pv-${i}`, managedFields: [{ manager: 'm' }] } } as never);
    const http = httpListWatcher(client, { resource: PERSISTENT_VOLUMES });
    for (const lw of [http, { description: 'ignores eachItem', list: (o: Parameters<ListWatcher['list']>[0]) => http.list({ ...o, eachItem: undefined }), watch: http.watch }]) {
      const seen: KubeObject[] = [];
      const sink = new RecordingSink();
      const prepareSink: ReflectorSink = {
        prepare: (o) => {
          const { managedFields: _m, ...meta } = o.metadata ?? {};
          return { ...o, metadata: meta };
        },
        replace: (items, rv) => {
          seen.push(...items);
          sink.replace(items, rv);
        },
        upsert: (o) => sink.upsert(o),
        delete: (o) => sink.delete(o),
      };
      const ac = new AbortController();
      const r = new Reflector({ listWatcher: lw, sink: prepareSink, clock, random: () => 0 });
      const done = r.run(ac.signal);
      await eventually(() => seen.length === 3, `list (${lw.description})`);
      expect(seen.every((o) => o.metadata?.managedFields === undefined && o.kind === 'PersistentVolume')).toBe(true);
      ac.abort();
      await done;
    }
  });

  describe('streaming lists (watchList)', () => {
    it('gets the initial state on one watch that then goes on as the watch: no LIST at all', async () => {
      for (let i = 0; i < 4; i++) server.create(PERSISTENT_VOLUMES, { metadata: { name: `pv-${i}`, managedFields: [{ manager: 'm' }] }, spec: {} } as never);
      const sink = new RecordingSink();
      const prepared: ReflectorSink = { prepare: (o) => ({ ...o, metadata: { ...o.metadata, managedFields: undefined } }), replace: (i, rv) => sink.replace(i, rv), upsert: (o) => sink.upsert(o), delete: (o) => sink.delete(o) };
      const ac = new AbortController();
      const r = new Reflector({ listWatcher: httpListWatcher(client, { resource: PERSISTENT_VOLUMES }), sink: prepared, clock, random: () => 0, watchList: true });
      const done = r.run(ac.signal);
      try {
        await eventually(() => r.state === 'watching' && sink.replaces.length === 1, 'synced');
        expect(sink.replaces).toEqual([{ count: 4, rv: server.resourceVersion }]);
        expect([...sink.items.values()].every((o) => o.metadata?.managedFields === undefined)).toBe(true);
        expect(listRequests()).toHaveLength(0);
        expect(watchRequests()).toHaveLength(1);
        expect(watchRequests()[0]!.query).toMatchObject({ sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' });
        expect(watchRequests()[0]!.query.resourceVersion).toBeUndefined();
        // The same stream carries the changes after the initial state.
        server.create(PERSISTENT_VOLUMES, pv('later'));
        await eventually(() => sink.items.has('later'), 'later');
        expect(watchRequests()).toHaveLength(1);
        expect(r.lastSyncResourceVersion).toBe(server.resourceVersion);
      } finally {
        ac.abort();
        await done;
      }
    });

    it('falls back to LIST and WATCH at once on a server that refuses streaming lists', async () => {
      const s2 = await FakeApiServer.start({ watchList: false });
      const c2 = createKubeClient({ kubeconfig: s2.writeKubeconfig(), qps: -1 });
      s2.create(PERSISTENT_VOLUMES, pv('a'));
      const ac = new AbortController();
      const sink = new RecordingSink();
      const r = new Reflector({ listWatcher: httpListWatcher(c2, { resource: PERSISTENT_VOLUMES }), sink, clock, random: () => 0, watchList: true });
      const done = r.run(ac.signal);
      try {
        await eventually(() => r.state === 'watching' && s2.openWatches() === 1, 'watching');
        expect(sink.items.has('a')).toBe(true);
        const gets = s2.requests.filter((q) => q.method === 'GET');
        expect(gets.map((q) => (q.watch ? (q.query.sendInitialEvents ? 'streaming' : 'watch') : 'list'))).toEqual(['streaming', 'list', 'watch']);
      } finally {
        ac.abort();
        await done;
        c2.dispose();
        await s2.close();
      }
    });

    it('a stream that ends before the initial state is complete delivers nothing; after three such failures it lists', async () => {
      const http = httpListWatcher(client, { resource: PERSISTENT_VOLUMES });
      server.create(PERSISTENT_VOLUMES, pv('a'));
      let streamingAttempts = 0;
      const lw: ListWatcher = {
        description: http.description,
        list: (o) => http.list(o),
        watch: async (o) => {
          if (!o.sendInitialEvents) return http.watch(o);
          streamingAttempts++;
          // Half an initial state, then the connection ends.
          return (async function* () {
            yield { type: 'ADDED' as const, object: { metadata: { name: 'a', resourceVersion: '1' } } };
          })();
        },
      };
      const { reflector, sink } = start({ listWatcher: lw, watchList: true });
      await eventually(() => reflector.stats.listErrors === 1 && reflector.state === 'backoff', 'first failure');
      // Half a state is never delivered.
      expect(sink.replaces).toHaveLength(0);
      expect(sink.items.size).toBe(0);
      // The backoffs pass; the third failure sends the reflector to LIST.
      await clock.advance(60_000);
      await eventually(() => sink.replaces.length === 1 && reflector.state === 'watching', 'listed');
      expect(streamingAttempts).toBe(3);
      expect(reflector.stats.listErrors).toBe(3);
    });
  });

  it('aborts a watch that stays silent past the inactivity timeout and resumes', async () => {
    const { reflector, sink } = start({ inactivityTimeoutMs: 60_000 });
    await eventually(() => server.openWatches() === 1, 'watch');
    server.stallWatches();
    server.create(PERSISTENT_VOLUMES, pv('lost-in-stall'));
    await clock.advance(59_000);
    expect(reflector.stats.inactivityAborts).toBe(0);
    await clock.advance(1_000);
    expect(reflector.stats.inactivityAborts).toBe(1);
    await eventually(() => reflector.state === 'backoff', 'backoff');
    await clock.advance(800);
    await eventually(() => sink.items.has('lost-in-stall'), 'event after resume');
    expect(watchRequests()).toHaveLength(2);
    expect(sink.replaces).toHaveLength(1);
  });

  it('counts the inactivity timeout from the last event, not from the start of the watch', async () => {
    const { reflector, sink } = start({ inactivityTimeoutMs: 60_000 });
    await eventually(() => server.openWatches() === 1, 'watch');
    await clock.advance(40_000);
    server.create(PERSISTENT_VOLUMES, pv('keeps-it-alive'));
    await eventually(() => sink.items.has('keeps-it-alive'), 'event');
    await clock.advance(40_000);
    expect(reflector.stats.inactivityAborts).toBe(0);
    expect(watchRequests()).toHaveLength(1);
    await clock.advance(20_000);
    expect(reflector.stats.inactivityAborts).toBe(1);
  });

  it('keeps retrying a failing list with growing backoff', async () => {
    server.failNext({ method: 'GET', watch: false }, { code: 500, reason: 'InternalError', message: 'etcd down' }, 3);
    const { reflector, sink } = start();
    const delays = [800, 1600, 3200];
    for (const [i, d] of delays.entries()) {
      await eventually(() => reflector.state === 'backoff' && listRequests().length === i + 1, 'backoff');
      await clock.advance(d - 1);
      expect(listRequests()).toHaveLength(i + 1);
      await clock.advance(1);
      await eventually(() => listRequests().length === i + 2, 'next attempt');
    }
    await eventually(() => reflector.state === 'watching' && sink.replaces.length === 1, 'synced');
    expect(reflector.stats.listErrors).toBe(3);
    expect(reflector.stats.lastError).toContain('etcd down');
  });

  it('waits as long as a 429 Retry-After says before watching again', async () => {
    const { reflector } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.failNext({ watch: true }, { code: 429, reason: 'TooManyRequests', retryAfterSeconds: 5 });
    server.dropWatches();
    await eventually(() => reflector.state === 'backoff', 'first backoff');
    await clock.advance(800);
    await eventually(() => reflector.state === 'backoff' && watchRequests().length === 2, '429 backoff');
    await clock.advance(4_999);
    expect(watchRequests()).toHaveLength(2);
    await clock.advance(1);
    await eventually(() => watchRequests().length === 3 && server.openWatches() === 1, 'third watch');
  });

  it('backs off after a watch that the server closes at once without events', async () => {
    const { reflector } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.closeWatches();
    await eventually(() => reflector.state === 'backoff', 'backoff');
    expect(reflector.stats.lastError).toContain('very short watch');
    expect(watchRequests()).toHaveLength(1);
    await clock.advance(800);
    await eventually(() => watchRequests().length === 2 && server.openWatches() === 1, 'second watch');
  });

  it('backs off and resumes from the same resourceVersion on a non-410 ERROR event or HTTP error', async () => {
    const { reflector } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    const rv = reflector.lastSyncResourceVersion;
    server.failNext({ watch: true }, { code: 500, reason: 'InternalError', message: 'boom' });
    server.sendWatchError({ code: 500, reason: 'InternalError', message: 'storage hiccup' });
    await eventually(() => reflector.state === 'backoff', 'backoff');
    expect(reflector.stats.lastError).toContain('storage hiccup');
    await clock.advance(800);
    await eventually(() => reflector.state === 'backoff' && watchRequests().length === 2, 'second backoff');
    expect(reflector.stats.lastError).toContain('boom');
    await clock.advance(1600);
    await eventually(() => watchRequests().length === 3 && server.openWatches() === 1, 'third watch');
    // No relist for a 500: every watch resumed from the list's resourceVersion.
    expect(reflector.stats.lists).toBe(1);
    expect(watchRequests().map((r) => r.query.resourceVersion)).toEqual([rv, rv, rv]);
  });

  it('watches one namespace with selectors', async () => {
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'a', namespace: 'n1', labels: { app: 'x' } } });
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'b', namespace: 'n1', labels: { app: 'y' } } });
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'c', namespace: 'n2', labels: { app: 'x' } } });
    const { sink } = start({
      listWatcher: httpListWatcher(client, { resource: PERSISTENT_VOLUME_CLAIMS, namespace: 'n1', labelSelector: 'app=x', fieldSelector: 'metadata.name!=zz' }),
    });
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'd', namespace: 'n1', labels: { app: 'x' } } });
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'e', namespace: 'n2', labels: { app: 'x' } } });
    await eventually(() => sink.items.has('n1/d'), 'd');
    expect([...sink.items.keys()].sort()).toEqual(['n1/a', 'n1/d']);
    const w = watchRequests()[0]!;
    expect(w.path).toBe('/api/v1/namespaces/n1/persistentvolumeclaims');
    expect(w.query).toMatchObject({ labelSelector: 'app=x', fieldSelector: 'metadata.name!=zz' });
  });

  it('stops promptly when the signal aborts, in any state', async () => {
    const { reflector } = start();
    await eventually(() => server.openWatches() === 1, 'watch');
    stop.abort();
    await running;
    expect(reflector.state).toBe('stopped');
    await eventually(() => server.openWatches() === 0, 'watch closed');
  });
});

describe('isNewerResourceVersion', () => {
  it('compares numeric versions as numbers and never goes back', () => {
    expect(isNewerResourceVersion('10', '9')).toBe(true);
    expect(isNewerResourceVersion('9', '10')).toBe(false);
    expect(isNewerResourceVersion('10', '10')).toBe(false);
    expect(isNewerResourceVersion('5', undefined)).toBe(true);
  });
});
