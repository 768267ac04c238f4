// The shared reflector/informer against a real kube-apiserver: paged lists, the watch, a restart
// of kube-apiserver mid-watch, 410 Gone after etcd compaction, and bookmarks. It runs its own
// small control plane because it restarts kube-apiserver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Informer,
  createKubeClient,
  httpListWatcher,
  type KubeClient,
  type KubeObject,
  type ListWatcher,
  type ResourceDescriptor,
} from '@csi-sidecars-ts/shared';
import { ControlPlane } from '../src/harness/control-plane.js';
import { waitFor } from '../src/harness/wait.js';

const CONFIG_MAPS: ResourceDescriptor = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const SECRETS: ResourceDescriptor = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

let cp: ControlPlane;
let client: KubeClient;

beforeAll(async () => {
  // Secrets bypass the watch cache (size 0), so a watch from a compacted revision reaches etcd
  // and answers 410 at once; config maps keep the cache, which is what sends bookmarks.
  cp = new ControlPlane({ nodes: 1, apiserverArgs: ['--watch-cache-sizes=secrets#0'], log: () => undefined });
  await cp.start();
  client = createKubeClient({ kubeconfig: cp.info.kubeconfig, qps: 200, burst: 400 });
}, 180_000);

afterAll(async () => {
  await client?.dispose();
  await cp?.stop();
});

async function createNamespace(name: string): Promise<void> {
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
}

function configMaps(namespace: string): string {
  return `/api/v1/namespaces/${namespace}/configmaps`;
}

async function createConfigMap(namespace: string, name: string, value: string): Promise<ConfigMap> {
  return client.request<ConfigMap>({ method: 'POST', path: configMaps(namespace), body: { metadata: { name }, data: { v: value } } });
}

async function apiState(path: string): Promise<Map<string, string>> {
  const list = await client.request<{ items: ConfigMap[] }>({ method: 'GET', path });
  return new Map(list.items.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

function storeState(informer: Informer<KubeObject>): Map<string, string> {
  return new Map(informer.store.list().map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

/** Records every delivery so duplicates and losses can be counted. */
function recordDeliveries(informer: Informer<KubeObject>) {
  const adds = new Map<string, number>();
  const deliveredVersions: string[] = [];
  const deletes: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => {
      adds.set(o.metadata!.name!, (adds.get(o.metadata!.name!) ?? 0) + 1);
      deliveredVersions.push(`${o.metadata!.name}@${o.metadata!.resourceVersion}`);
    },
    onUpdate: (_old, o) => deliveredVersions.push(`${o.metadata!.name}@${o.metadata!.resourceVersion}`),
    onDelete: (o) => deletes.push(('lastKnown' in o ? o.lastKnown : o).metadata!.name!),
  });
  return { adds, deliveredVersions, deletes };
}

function countingListWatcher(inner: ListWatcher) {
  const counts = { lists: 0, watches: 0 };
  const lw: ListWatcher = {
    description: inner.description,
    list: (opts) => {
      counts.lists++;
      return inner.list(opts);
    },
    watch: (opts) => {
      counts.watches++;
      return inner.watch(opts);
    },
  };
  return { lw, counts };
}

describe('reflector against a real kube-apiserver', () => {
  it('lists in small pages, then follows the watch with (old, new) updates and deletes', async () => {
    const ns = 'reflector-paging';
    await createNamespace(ns);
    await Promise.all(Array.from({ length: 120 }, (_, i) => createConfigMap(ns, `cm-${i}`, 'a')));
    const { lw, counts } = countingListWatcher(httpListWatcher(client, { resource: CONFIG_MAPS, namespace: ns }));
    // Paging happens on the etcd path: a resourceVersion=0 list (the default first list) is served
    // whole from the watch cache, which ignores limit (next test).
    const informer = new Informer<KubeObject>({ listWatcher: lw, pageSize: 25, listFromWatchCache: false });
    const updates: Array<[string, string]> = [];
    informer.addEventHandler({ onUpdate: (o, n) => updates.push([(o as ConfigMap).data!.v!, (n as ConfigMap).data!.v!]) });
    const deliveries = recordDeliveries(informer);
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      expect(informer.store.list()).toHaveLength(120);
      // 120 objects in pages of 25: five list calls for the first sync.
      expect(counts.lists).toBe(5);

      await client.request({ method: 'PATCH', path: `${configMaps(ns)}/cm-7`, body: { data: { v: 'b' } }, contentType: 'application/merge-patch+json' });
      await client.request({ method: 'DELETE', path: `${configMaps(ns)}/cm-8` });
      await createConfigMap(ns, 'cm-new', 'c');
      await waitFor('watch events in the store', () => informer.store.list().length === 120 && informer.store.getByName(ns, 'cm-new') !== undefined);
      await waitFor('update delivered', () => updates.some(([o, n]) => o === 'a' && n === 'b'));
      expect(deliveries.deletes).toContain('cm-8');
      expect(storeState(informer)).toEqual(await apiState(configMaps(ns)));
    } finally {
      await informer.dispose();
    }
  });

  it('by default lists first from the watch cache: one request for 120 objects, whatever the page size', async () => {
    const ns = 'reflector-from-cache';
    await createNamespace(ns);
    await Promise.all(Array.from({ length: 120 }, (_, i) => createConfigMap(ns, `cm-${i}`, 'a')));
    const real = httpListWatcher(client, { resource: CONFIG_MAPS, namespace: ns });
    const asked: (string | undefined)[] = [];
    const lw: ListWatcher = { description: real.description, list: (opts) => (asked.push(opts.resourceVersion), real.list(opts)), watch: (opts) => real.watch(opts) };
    const informer = new Informer<KubeObject>({ listWatcher: lw, pageSize: 25 });
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      expect(informer.store.list()).toHaveLength(120);
      // client-go's first list: resourceVersion=0, answered in one piece by the watch cache.
      expect(asked).toEqual(['0']);
      await createConfigMap(ns, 'cm-new', 'b');
      await waitFor('watch from the cached list version delivers new objects', () => informer.store.getByName(ns, 'cm-new') !== undefined);
      expect(storeState(informer)).toEqual(await apiState(configMaps(ns)));
    } finally {
      await informer.dispose();
    }
  });

  it('with watchList gets the initial state as a streaming list: no LIST, one watch that goes on', async () => {
    const ns = 'reflector-streaming';
    await createNamespace(ns);
    await Promise.all(Array.from({ length: 120 }, (_, i) => createConfigMap(ns, `cm-${i}`, 'a')));
    const { lw, counts } = countingListWatcher(httpListWatcher(client, { resource: CONFIG_MAPS, namespace: ns }));
    const informer = new Informer<KubeObject>({ listWatcher: lw, watchList: true });
    const deliveries = recordDeliveries(informer);
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      expect(informer.store.list()).toHaveLength(120);
      // kube-apiserver served the streaming list (a refusal would have made the reflector LIST).
      expect(counts).toEqual({ lists: 0, watches: 1 });
      expect(storeState(informer)).toEqual(await apiState(configMaps(ns)));
      await client.request({ method: 'PATCH', path: `${configMaps(ns)}/cm-3`, body: { data: { v: 'b' } }, contentType: 'application/merge-patch+json' });
      await createConfigMap(ns, 'cm-new', 'c');
      await waitFor('changes on the same stream', () => informer.store.getByName(ns, 'cm-new') !== undefined && (informer.store.getByName(ns, 'cm-3') as ConfigMap | undefined)?.data?.v === 'b');
      expect(counts.watches).toBe(1);
      expect(deliveries.adds.size).toBe(121);
      expect(new Set(deliveries.deliveredVersions).size).toBe(deliveries.deliveredVersions.length);
    } finally {
      await informer.dispose();
    }
  });

  it('loses and duplicates nothing across a kube-apiserver restart mid-watch', async () => {
    const ns = 'reflector-restart';
    await createNamespace(ns);
    for (let i = 0; i < 20; i++) await createConfigMap(ns, `before-${i}`, 'a');
    const informer = new Informer<KubeObject>({
      listWatcher: httpListWatcher(client, { resource: CONFIG_MAPS, namespace: ns }),
      // Quick reconnects: the restart takes a few seconds.
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    const deliveries = recordDeliveries(informer);
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      for (let i = 0; i < 10; i++) await createConfigMap(ns, `during-${i}`, 'a');
      await cp.restartApiserver(1000);
      for (let i = 0; i < 10; i++) await createConfigMap(ns, `after-${i}`, 'a');
      await client.request({ method: 'PATCH', path: `${configMaps(ns)}/before-3`, body: { data: { v: 'z' } }, contentType: 'application/merge-patch+json' });
      await client.request({ method: 'DELETE', path: `${configMaps(ns)}/before-4` });

      const expected = await apiState(configMaps(ns));
      await waitFor('store equal to the API after the restart', () => {
        const s = storeState(informer);
        return s.size === expected.size && [...expected].every(([k, v]) => s.get(k) === v);
      }, { timeoutMs: 60_000 });
      // Every object was added exactly once, whatever relists the restart caused.
      for (const [name, n] of deliveries.adds) expect({ name, adds: n }).toEqual({ name, adds: 1 });
      expect(deliveries.adds.size).toBe(40);
      // No object version was delivered twice.
      expect(new Set(deliveries.deliveredVersions).size).toBe(deliveries.deliveredVersions.length);
      expect(deliveries.deletes).toEqual(['before-4']);
    } finally {
      await informer.dispose();
    }
  });

  it('relists after 410 Gone when its resourceVersion was compacted away', async () => {
    const ns = 'reflector-gone';
    await createNamespace(ns);
    const secrets = `/api/v1/namespaces/${ns}/secrets`;
    const first = await client.request<KubeObject>({ method: 'POST', path: secrets, body: { metadata: { name: 's-0' } } });
    const staleVersion = first.metadata!.resourceVersion!;
    for (let i = 1; i < 5; i++) await client.request({ method: 'POST', path: secrets, body: { metadata: { name: `s-${i}` } } });
    // Compact etcd past the stale version (etcd's JSON gateway), as the apiserver does every 5 minutes.
    const latest = await client.request<{ metadata: { resourceVersion: string } }>({ method: 'GET', path: secrets });
    const res = await fetch(`${cp.info.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: latest.metadata.resourceVersion, physical: true }),
    });
    expect(res.ok).toBe(true);

    // A list that claims the stale version makes the first watch start from compacted history.
    const real = httpListWatcher(client, { resource: SECRETS, namespace: ns });
    let lists = 0;
    const lw: ListWatcher = {
      description: real.description,
      async list(opts) {
        const l = await real.list(opts);
        if (lists++ === 0) l.metadata = { ...l.metadata, resourceVersion: staleVersion };
        return l;
      },
      watch: (opts) => real.watch(opts),
    };
    const informer = new Informer<KubeObject>({ listWatcher: lw, backoff: { initialMs: 50, maxMs: 500 } });
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      await waitFor('a relist after 410', () => informer.reflectorStats.expiredRelists >= 1 && lists >= 2, { timeoutMs: 30_000 });
      await client.request({ method: 'POST', path: secrets, body: { metadata: { name: 's-late' } } });
      await waitFor('watch resumed after the relist', () => informer.store.list().some((o) => o.metadata?.name === 's-late'));
      expect(informer.store.list()).toHaveLength(6);
    } finally {
      await informer.dispose();
    }
  });

  it('advances its resourceVersion from bookmarks while its own objects are quiet', async () => {
    const ns = 'reflector-bookmarks';
    await createNamespace(ns);
    await createConfigMap(ns, 'only', 'a');
    const informer = new Informer<KubeObject>({ listWatcher: httpListWatcher(client, { resource: CONFIG_MAPS, namespace: ns }) });
    void informer.run();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      const synced = BigInt(informer.lastSyncResourceVersion);
      // Changes elsewhere move the cluster's resourceVersion; only a bookmark carries it to us.
      await createNamespace('reflector-bookmarks-other');
      await createConfigMap('reflector-bookmarks-other', 'noise', 'x');
      // kube-apiserver sends a bookmark about once a minute to watches that allow them.
      await waitFor('a bookmark', () => informer.reflectorStats.bookmarks >= 1, { timeoutMs: 120_000, intervalMs: 1000 });
      expect(BigInt(informer.lastSyncResourceVersion)).toBeGreaterThan(synced);
      expect(informer.store.list()).toHaveLength(1);
    } finally {
      await informer.dispose();
    }
  }, 150_000);
});
