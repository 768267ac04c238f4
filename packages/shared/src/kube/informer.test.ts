import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { memoryLogger } from '../logging/logger.js';
import { createKubeClient } from './client.js';
import type { KubeClient } from './client.js';
import type { Tombstone } from './informer.js';
import { deletedObject, Informer, isTombstone } from './informer.js';
import { InformerFactory } from './informer-factory.js';
import { httpListWatcher } from './list-watch.js';
import type { KubeObject } from './object.js';
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES } from './resources.js';
import { eventually } from './testing/eventually.js';
import { FakeApiServer } from './testing/fake-apiserver.js';

interface PV extends KubeObject {
  spec?: { capacity?: { storage: string }; claimRef?: { namespace: string; name: string } };
}

let server: FakeApiServer;
let client: KubeClient;
let clock: FakeClock;
let stop: AbortController;
const toDispose: { dispose(): unknown }[] = [];

beforeEach(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  clock = new FakeClock();
  stop = new AbortController();
});

afterEach(async () => {
  stop.abort();
  for (const d of toDispose.splice(0)) await d.dispose();
  client.dispose();
  await server.close();
});

function informer(opts: Partial<ConstructorParameters<typeof Informer<PV>>[0]> = {}): Informer<PV> {
  const inf = new Informer<PV>({ listWatcher: httpListWatcher(client, { resource: PERSISTENT_VOLUMES }), clock, random: () => 0, ...opts });
  toDispose.push(inf);
  return inf;
}

const pv = (name: string, storage = '1Gi'): PV => ({ metadata: { name }, spec: { capacity: { storage } } });
const name = (o: PV | Tombstone<PV>) => deletedObject(o).metadata?.name;

function recorder() {
  const log: string[] = [];
  return {
    log,
    handlers: {
      onAdd: (o: PV, initial: boolean) => log.push(`add ${name(o)}${initial ? ' (initial)' : ''}`),
      onUpdate: (a: PV, b: PV) => log.push(`update ${name(b)} ${a.spec?.capacity?.storage}->${b.spec?.capacity?.storage}`),
      onDelete: (o: PV | Tombstone<PV>) => log.push(`delete ${name(o)}${isTombstone(o) ? ' (tombstone)' : ''}`),
    },
  };
}

describe('Informer', () => {
  it('delivers add, update(old, new) and delete, and syncs after the first list', async () => {
    server.create(PERSISTENT_VOLUMES, pv('a'));
    const inf = informer();
    const r = recorder();
    inf.addEventHandler(r.handlers);
    expect(inf.hasSynced()).toBe(false);
    void inf.run(stop.signal);
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('b'));
    server.update(PERSISTENT_VOLUMES, { ...server.get<PV>(PERSISTENT_VOLUMES, 'b')!, spec: { capacity: { storage: '2Gi' } } });
    server.remove(PERSISTENT_VOLUMES, 'a');
    await eventually(() => r.log.length === 4, 'events');
    expect(r.log).toEqual(['add a (initial)', 'add b', 'update b 1Gi->2Gi', 'delete a']);
    expect(inf.store.keys()).toEqual(['b']);
    expect(inf.store.get('b')?.spec?.capacity?.storage).toBe('2Gi');
  });

  it('after a relist reports vanished objects as tombstones and changed ones as updates', async () => {
    server.create(PERSISTENT_VOLUMES, pv('stays'));
    server.create(PERSISTENT_VOLUMES, pv('changes'));
    server.create(PERSISTENT_VOLUMES, pv('vanishes'));
    const inf = informer();
    const r = recorder();
    inf.addEventHandler(r.handlers);
    void inf.run(stop.signal);
    await inf.waitForSync();
    await eventually(() => server.openWatches() === 1, 'watch');
    r.log.length = 0;
    // Changes the informer cannot see, then the history is compacted: the watch must relist.
    server.stallWatches();
    server.remove(PERSISTENT_VOLUMES, 'vanishes');
    server.update(PERSISTENT_VOLUMES, { ...server.get<PV>(PERSISTENT_VOLUMES, 'changes')!, spec: { capacity: { storage: '5Gi' } } });
    server.create(PERSISTENT_VOLUMES, pv('appears'));
    server.compact();
    server.expireWatches();
    // This watch saw no event, so the relist waits one backoff step.
    await eventually(() => inf.reflectorState === 'backoff', 'backoff');
    await clock.advance(800);
    await eventually(() => inf.reflectorStats.lists === 2 && r.log.length === 3, 'relist');
    expect(r.log).toEqual(['add appears', 'update changes 1Gi->5Gi', 'delete vanishes (tombstone)']);
    expect(inf.store.keys().sort()).toEqual(['appears', 'changes', 'stays']);
  });

  it('a resumed watch delivers each change exactly once', async () => {
    const inf = informer();
    const r = recorder();
    inf.addEventHandler(r.handlers);
    void inf.run(stop.signal);
    await inf.waitForSync();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('one'));
    await eventually(() => r.log.length === 1, 'one');
    server.dropWatches();
    await eventually(() => inf.reflectorState === 'backoff', 'backoff');
    server.create(PERSISTENT_VOLUMES, pv('two'));
    await clock.advance(800);
    await eventually(() => r.log.length === 2 && server.openWatches() === 1, 'two');
    server.create(PERSISTENT_VOLUMES, pv('three'));
    await eventually(() => r.log.length === 3, 'three');
    expect(r.log).toEqual(['add one', 'add two', 'add three']);
  });

  it('resyncs every period with update(obj, obj), only for handlers that ask', async () => {
    server.create(PERSISTENT_VOLUMES, pv('a'));
    server.create(PERSISTENT_VOLUMES, pv('b'));
    const inf = informer();
    const resyncing: string[] = [];
    const quiet: string[] = [];
    inf.addEventHandler({ onUpdate: (o, n) => resyncing.push(`${name(n)} same=${o === n}`) }, { resyncPeriodMs: 60_000 });
    inf.addEventHandler({ onUpdate: (_o, n) => quiet.push(name(n)!) });
    void inf.run(stop.signal);
    await inf.waitForSync();
    await clock.advance(59_999);
    expect(resyncing).toEqual([]);
    await clock.advance(1);
    expect(resyncing.sort()).toEqual(['a same=true', 'b same=true']);
    await clock.advance(60_000);
    expect(resyncing).toHaveLength(4);
    expect(quiet).toEqual([]);
  });

  it('survives throwing and rejecting handlers, counts and logs them, and keeps delivering', async () => {
    const { logger, lines } = memoryLogger();
    const inf = informer({ logger });
    const good: string[] = [];
    inf.addEventHandler({ onAdd: () => { throw new Error('handler bug'); } }, { name: 'buggy' });
    inf.addEventHandler({ onAdd: async () => { throw new Error('async bug'); } });
    inf.addEventHandler({ onAdd: (o) => good.push(name(o)!) });
    void inf.run(stop.signal);
    await inf.waitForSync();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.create(PERSISTENT_VOLUMES, pv('x'));
    server.create(PERSISTENT_VOLUMES, pv('y'));
    await eventually(() => good.length === 2 && inf.handlerErrors === 4, 'handlers');
    expect(good).toEqual(['x', 'y']);
    expect(lines.some((l) => l.includes('handler bug') && l.includes('"handler":"buggy"'))).toBe(true);
    expect(inf.store.size).toBe(2);
  });

  it('gives a late handler the cached objects as adds', async () => {
    server.create(PERSISTENT_VOLUMES, pv('a'));
    const inf = informer();
    void inf.run(stop.signal);
    await inf.waitForSync();
    const r = recorder();
    inf.addEventHandler(r.handlers);
    expect(r.log).toEqual(['add a']);
  });

  it('removing a handler stops its calls', async () => {
    const inf = informer();
    const r = recorder();
    const reg = inf.addEventHandler(r.handlers);
    void inf.run(stop.signal);
    await inf.waitForSync();
    await eventually(() => server.openWatches() === 1, 'watch');
    reg.dispose();
    server.create(PERSISTENT_VOLUMES, pv('a'));
    await eventually(() => inf.store.has('a'), 'stored');
    expect(r.log).toEqual([]);
  });

  it('caches transformed objects, indexes them, and hands the final state to onDelete', async () => {
    server.create(PERSISTENT_VOLUMES, { ...pv('bound'), spec: { capacity: { storage: '1Gi' }, claimRef: { namespace: 'ns', name: 'c' } } });
    const inf = informer({
      transform: (o) => ({ metadata: { ...o.metadata, managedFields: undefined, annotations: undefined }, spec: { claimRef: (o as PV).spec?.claimRef } }),
      indexers: { claim: (o) => (o.spec?.claimRef ? [`${o.spec.claimRef.namespace}/${o.spec.claimRef.name}`] : []) },
    });
    const deleted: PV[] = [];
    inf.addEventHandler({ onDelete: (o) => deleted.push(deletedObject(o)) });
    void inf.run(stop.signal);
    await inf.waitForSync();
    expect(inf.store.byIndex('claim', 'ns/c').map((o) => o.metadata?.name)).toEqual(['bound']);
    expect(inf.store.get('bound')?.spec?.capacity).toBeUndefined();
    await eventually(() => server.openWatches() === 1, 'watch');
    server.remove(PERSISTENT_VOLUMES, 'bound');
    await eventually(() => deleted.length === 1, 'delete');
    expect(deleted[0]!.spec).toEqual({ claimRef: { namespace: 'ns', name: 'c' } });
    expect(BigInt(deleted[0]!.metadata!.resourceVersion!)).toBeGreaterThan(0n);
    expect(inf.store.byIndex('claim', 'ns/c')).toEqual([]);
  });

  it('waitForSync rejects when the signal aborts or the informer is disposed first', async () => {
    server.failNext({ watch: false }, { code: 500 }, 100);
    const inf = informer();
    void inf.run(stop.signal);
    const ac = new AbortController();
    const waiting = inf.waitForSync(ac.signal);
    ac.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    const other = inf.waitForSync();
    await inf.dispose();
    await expect(other).rejects.toThrow(/before it synced/);
    expect(inf.isRunning).toBe(false);
  });
});

describe('InformerFactory', () => {
  it('shares one informer per resource and filter, and starts late ones', async () => {
    server.create(PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'c', namespace: 'ns' } });
    const factory = new InformerFactory({ client, clock, random: () => 0 });
    toDispose.push(factory);
    const a = factory.informerFor(PERSISTENT_VOLUMES);
    const b = factory.informerFor(PERSISTENT_VOLUMES);
    const inNs = factory.informerFor(PERSISTENT_VOLUME_CLAIMS, { namespace: 'ns' });
    expect(a).toBe(b);
    expect(factory.informerFor(PERSISTENT_VOLUME_CLAIMS)).not.toBe(inNs);
    factory.start(stop.signal);
    await factory.waitForSync();
    expect(inNs.store.keys()).toEqual(['ns/c']);
    const late = factory.informerFor(PERSISTENT_VOLUME_CLAIMS, { labelSelector: 'x=y' });
    await late.waitForSync();
    expect(late.isRunning).toBe(true);
    // One watch per distinct informer.
    await eventually(() => server.openWatches() === 4, 'four watches');
  });

  it('refuses a second, different transform for a shared cache and shares indexers', () => {
    const factory = new InformerFactory({ client, clock });
    toDispose.push(factory);
    const t1 = (o: KubeObject) => o;
    const byName = (o: KubeObject) => [o.metadata?.name ?? ''];
    const inf = factory.informerFor(PERSISTENT_VOLUMES, { transform: t1, indexers: { byName } });
    expect(factory.informerFor(PERSISTENT_VOLUMES, { transform: t1, indexers: { byName } })).toBe(inf);
    expect(() => factory.informerFor(PERSISTENT_VOLUMES, { transform: (o) => o })).toThrow(/different transform/);
    expect(() => factory.informerFor(PERSISTENT_VOLUMES, { indexers: { byName: (o) => [String(o.kind)] } })).toThrow(/indexer "byName"/);
    expect(inf.store.hasIndexer('byName')).toBe(true);
  });
});
