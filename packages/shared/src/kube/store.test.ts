import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from './object.js';
import { NAMESPACE_INDEX, Store } from './store.js';

interface PV extends KubeObject {
  spec?: { claimRef?: { namespace: string; name: string }; csi?: { driver: string } };
}

const pv = (name: string, rv: string, claim?: string, driver = 'hostpath.csi.k8s.io'): PV => ({
  metadata: { name, resourceVersion: rv, uid: `uid-${name}` },
  spec: { claimRef: claim ? { namespace: 'ns', name: claim } : undefined, csi: { driver } },
});

const byClaim = (o: PV) => (o.spec?.claimRef ? [`${o.spec.claimRef.namespace}/${o.spec.claimRef.name}`] : []);

describe('Store', () => {
  it('keys namespaced objects as ns/name and cluster-scoped ones as name', () => {
    const s = new Store();
    s.upsert({ metadata: { name: 'a', namespace: 'ns1', resourceVersion: '1' } });
    s.upsert({ metadata: { name: 'b', resourceVersion: '1' } });
    expect(s.keys().sort()).toEqual(['b', 'ns1/a']);
    expect(s.getByName('ns1', 'a')?.metadata?.name).toBe('a');
    expect(s.getByName(undefined, 'b')?.metadata?.name).toBe('b');
    expect(s.byIndex(NAMESPACE_INDEX, 'ns1').map((o) => o.metadata?.name)).toEqual(['a']);
  });

  it('keeps custom indexes right through update, delete and replace', () => {
    const s = new Store<PV>({ indexers: { claim: byClaim } });
    s.upsert(pv('pv1', '1', 'c1'));
    s.upsert(pv('pv2', '1', 'c2'));
    expect(s.byIndex('claim', 'ns/c1').map((o) => o.metadata?.name)).toEqual(['pv1']);
    // Rebinding pv1 moves it to the other index value.
    s.upsert(pv('pv1', '2', 'c2'));
    expect(s.byIndex('claim', 'ns/c1')).toEqual([]);
    expect(s.byIndex('claim', 'ns/c2').map((o) => o.metadata?.name).sort()).toEqual(['pv1', 'pv2']);
    s.delete('pv2');
    expect(s.byIndex('claim', 'ns/c2').map((o) => o.metadata?.name)).toEqual(['pv1']);
    s.replace([pv('pv3', '5', 'c1')]);
    expect(s.byIndex('claim', 'ns/c2')).toEqual([]);
    expect(s.byIndex('claim', 'ns/c1').map((o) => o.metadata?.name)).toEqual(['pv3']);
    expect(s.indexValues('claim')).toEqual(['ns/c1']);
  });

  it('indexes existing objects when an indexer is added later', () => {
    const s = new Store<PV>();
    s.upsert(pv('pv1', '1', undefined, 'a.csi'));
    s.upsert(pv('pv2', '1', undefined, 'b.csi'));
    s.addIndexer('driver', (o) => (o.spec?.csi ? [o.spec.csi.driver] : []));
    expect(s.byIndex('driver', 'b.csi').map((o) => o.metadata?.name)).toEqual(['pv2']);
    expect(() => s.addIndexer('driver', () => [])).toThrow(/already exists/);
  });

  it('throws on an unknown index name instead of returning nothing', () => {
    expect(() => new Store().byIndex('typo', 'x')).toThrow(/no indexer named "typo"/);
  });

  it('replace reports added, changed and vanished objects and keeps unchanged instances', () => {
    const s = new Store<PV>();
    s.upsert(pv('same', '1'));
    s.upsert(pv('changed', '1'));
    s.upsert(pv('gone', '1'));
    const sameBefore = s.get('same');
    const r = s.replace([pv('same', '1'), pv('changed', '2'), pv('new', '1')]);
    expect(r.added.map((o) => o.metadata?.name)).toEqual(['new']);
    expect(r.updated.map((u) => [u.old.metadata?.resourceVersion, u.new.metadata?.resourceVersion])).toEqual([['1', '2']]);
    expect(r.deleted.map((d) => d.key)).toEqual(['gone']);
    expect(s.get('same')).toBe(sameBefore);
    expect(s.keys().sort()).toEqual(['changed', 'new', 'same']);
  });

  it('applies the transform before storing', () => {
    const s = new Store<PV>({
      transform: (o) => {
        const c = { ...o, metadata: { ...o.metadata } };
        delete c.metadata.managedFields;
        return c as PV;
      },
    });
    const { stored } = s.upsert({ metadata: { name: 'x', resourceVersion: '1', managedFields: [{ big: true }] } });
    expect(stored.metadata?.managedFields).toBeUndefined();
    expect(s.get('x')?.metadata?.managedFields).toBeUndefined();
  });

  it('leaves the store untouched when an indexer throws', () => {
    const s = new Store<PV>({ indexers: { bad: (o) => (o.metadata?.name === 'boom' ? (null as unknown as string[]).slice() : []) } });
    s.upsert(pv('ok', '1'));
    expect(() => s.upsert(pv('boom', '1'))).toThrow(/indexer "bad" failed/);
    expect(s.keys()).toEqual(['ok']);
  });
});
