import { describe, expect, it } from '@jest/globals';
import type { CSINode, Node } from '@csi-sidecars-ts/shared';
import { TopologyCache } from './topology-cache.js';
import { flattenAllowedTopologies, isSubset, sortTerm } from './topology-terms.js';
import {
  SelectedNodeGoneError,
  TopologyError,
  accessibilityRequirements,
  claimNameHashAndIndex,
  fnv1_32,
  sameLabels,
  volumeIsAccessible,
  volumeNodeAffinity,
  type AccessibilityInput,
  type TopologyLookup,
} from './topology.js';

const DRIVER = 'drv.example.com';

function csiNode(name: string, keys: string[] | undefined, driver = DRIVER): CSINode {
  return { metadata: { name }, spec: { drivers: keys ? [{ name: driver, nodeID: name, topologyKeys: keys }] : [] } };
}

function node(name: string, labels: Record<string, string>): Node {
  return { metadata: { name, labels } };
}

function lookup(nodes: Node[], csiNodes: CSINode[]): TopologyLookup & { nodes: Node[]; csiNodes: CSINode[] } {
  const l = {
    nodes,
    csiNodes,
    getCSINode: (n: string) => l.csiNodes.find((c) => c.metadata?.name === n),
    listCSINodes: () => l.csiNodes,
    getNode: (n: string) => l.nodes.find((c) => c.metadata?.name === n),
    listNodes: () => l.nodes,
  };
  return l;
}

const zoneNodes = () =>
  lookup(
    [node('n1', { zone: 'a', rack: 'r1' }), node('n2', { zone: 'b', rack: 'r1' }), node('n3', { zone: 'c', rack: 'r2' }), node('other', { unrelated: 'x' })],
    [csiNode('n1', ['zone']), csiNode('n2', ['zone']), csiNode('n3', ['zone']), csiNode('other', undefined)],
  );

function input(over: Partial<AccessibilityInput>): AccessibilityInput {
  return {
    driverName: DRIVER,
    claimUid: 'uid-1',
    claimName: 'claim',
    allowedTopologies: undefined,
    selectedNode: '',
    strictTopology: false,
    immediateTopology: true,
    lookup: zoneNodes(),
    cache: new TopologyCache(),
    random: () => 0,
    ...over,
  };
}

const zones = (...z: string[]) => z.map((v) => ({ segments: { zone: v } }));

describe('topology terms', () => {
  it('flattens allowedTopologies into the cartesian product of each term', () => {
    const flat = flattenAllowedTopologies([
      { matchLabelExpressions: [{ key: 'zone', values: ['a', 'b'] }, { key: 'rack', values: ['r1', 'r2'] }] },
      { matchLabelExpressions: [{ key: 'zone', values: ['c'] }] },
    ]);
    expect(flat).toEqual([
      [['rack', 'r1'], ['zone', 'a']],
      [['rack', 'r1'], ['zone', 'b']],
      [['rack', 'r2'], ['zone', 'a']],
      [['rack', 'r2'], ['zone', 'b']],
      [['zone', 'c']],
    ]);
  });

  it('tests subsets of sorted terms', () => {
    const big = sortTerm([['zone', 'a'], ['rack', 'r1']]);
    expect(isSubset([['zone', 'a']], big)).toBe(true);
    expect(isSubset([['zone', 'b']], big)).toBe(false);
    expect(isSubset([], big)).toBe(true);
    expect(isSubset([['host', 'h']], big)).toBe(false);
  });
});

describe('accessibilityRequirements, delayed binding', () => {
  it('requires all cluster topologies with the selected one preferred first', () => {
    const r = accessibilityRequirements(input({ selectedNode: 'n2' }));
    expect(r).toEqual({ requisite: zones('a', 'b', 'c'), preferred: zones('b', 'c', 'a') });
  });

  it('sends only the selected topology with strict topology', () => {
    expect(accessibilityRequirements(input({ selectedNode: 'n3', strictTopology: true }))).toEqual({ requisite: zones('c'), preferred: zones('c') });
  });

  it('checks strict topology against allowedTopologies', () => {
    const allowed = [{ matchLabelExpressions: [{ key: 'zone', values: ['a'] }] }];
    expect(() => accessibilityRequirements(input({ selectedNode: 'n3', strictTopology: true, allowedTopologies: allowed }))).toThrow(/is not in allowed topologies/);
    expect(accessibilityRequirements(input({ selectedNode: 'n1', strictTopology: true, allowedTopologies: allowed }))).toEqual({ requisite: zones('a'), preferred: zones('a') });
  });

  it('uses allowedTopologies as requisite, the selected one preferred', () => {
    const allowed = [{ matchLabelExpressions: [{ key: 'zone', values: ['c', 'b', 'x'] }] }];
    expect(accessibilityRequirements(input({ selectedNode: 'n3', allowedTopologies: allowed }))).toEqual({ requisite: zones('b', 'c', 'x'), preferred: zones('c', 'x', 'b') });
    expect(() => accessibilityRequirements(input({ selectedNode: 'n1', allowedTopologies: allowed }))).toThrow(/is not in requisite/);
  });

  it('asks for rescheduling when the selected node or its CSINode is gone', () => {
    expect(() => accessibilityRequirements(input({ selectedNode: 'gone' }))).toThrow(SelectedNodeGoneError);
    const l = zoneNodes();
    l.nodes = l.nodes.filter((n) => n.metadata?.name !== 'n1');
    expect(() => accessibilityRequirements(input({ selectedNode: 'n1', lookup: l }))).toThrow(SelectedNodeGoneError);
  });

  it('fails clearly when the node has no keys for the driver or lacks the labels', () => {
    expect(() => accessibilityRequirements(input({ selectedNode: 'other' }))).toThrow('no topology key found for node other');
    const l = zoneNodes();
    l.nodes[0] = node('n1', { rack: 'r1' });
    expect(() => accessibilityRequirements(input({ selectedNode: 'n1', lookup: l }))).toThrow(TopologyError);
    expect(() => accessibilityRequirements(input({ selectedNode: 'n1', lookup: l }))).toThrow(
      'topology labels from selected node map[rack:r1] does not match topology keys from CSINode [zone]',
    );
  });

  it('sends identical requirements on retry even when nodes changed meanwhile', () => {
    const cache = new TopologyCache();
    const l = zoneNodes();
    const first = accessibilityRequirements(input({ selectedNode: 'n1', lookup: l, cache }));
    l.nodes.push(node('n4', { zone: 'd' }));
    l.csiNodes.push(csiNode('n4', ['zone']));
    l.nodes[0] = node('n1', { zone: 'a', rack: 'r9' });
    expect(accessibilityRequirements(input({ selectedNode: 'n1', lookup: l, cache }))).toEqual(first);
    cache.delete('uid-1');
    expect(accessibilityRequirements(input({ selectedNode: 'n1', lookup: l, cache }))?.requisite).toEqual(zones('a', 'b', 'c', 'd'));
  });
});

describe('accessibilityRequirements, immediate binding', () => {
  it('aggregates the topologies of nodes with the driver, rotated by claim name', () => {
    const { hash, index } = claimNameHashAndIndex('claim');
    const r = accessibilityRequirements(input({}));
    const i = (hash + index) % 3;
    const all = zones('a', 'b', 'c');
    expect(r).toEqual({ requisite: all, preferred: [...all.slice(i), ...all.slice(0, i)] });
  });

  it('spreads StatefulSet replicas over consecutive topologies', () => {
    const pref = (name: string) => accessibilityRequirements(input({ claimName: name, claimUid: name }))!.preferred![0];
    const p0 = pref('data-web-0');
    const p1 = pref('data-web-1');
    const p2 = pref('data-web-2');
    expect(new Set([JSON.stringify(p0), JSON.stringify(p1), JSON.stringify(p2)]).size).toBe(3);
    expect(claimNameHashAndIndex('data-web-7')).toEqual({ hash: fnv1_32('web'), index: 7 });
    expect(claimNameHashAndIndex('plain')).toEqual({ hash: fnv1_32('plain'), index: 0 });
  });

  it('sends nothing with --immediate-topology=false, allowedTopologies otherwise', () => {
    expect(accessibilityRequirements(input({ immediateTopology: false }))).toBeUndefined();
    const allowed = [{ matchLabelExpressions: [{ key: 'zone', values: ['q'] }] }];
    expect(accessibilityRequirements(input({ immediateTopology: false, allowedTopologies: allowed }))).toEqual({ requisite: zones('q'), preferred: zones('q') });
  });

  it('fails when no node runs the driver with topology', () => {
    expect(() => accessibilityRequirements(input({ lookup: lookup([node('x', {})], [csiNode('x', undefined)]) }))).toThrow('no available topology found');
  });

  it('computes FNV-1 like Go', () => {
    // Known FNV-1 32-bit values.
    expect(fnv1_32('')).toBe(0x811c9dc5);
    expect(fnv1_32('a')).toBe(0x050c5d7e);
  });
});

describe('cluster-wide topology cache (lookup generation)', () => {
  function counted(l: ReturnType<typeof lookup>) {
    const calls = { nodes: 0, csiNodes: 0 };
    let generation = 0;
    const counting: TopologyLookup = {
      getCSINode: l.getCSINode,
      getNode: l.getNode,
      listNodes: () => (calls.nodes++, l.listNodes()),
      listCSINodes: () => (calls.csiNodes++, l.listCSINodes()),
      generation: () => generation,
    };
    return { counting, calls, bump: () => void generation++ };
  }

  it('lists Nodes and CSINodes once per generation, not once per claim', () => {
    const l = zoneNodes();
    const { counting, calls } = counted(l);
    const results = ['c1', 'c2', 'c3', 'c4'].map((n) => accessibilityRequirements(input({ claimName: n, claimUid: n, lookup: counting }))!.requisite);
    for (const r of results) expect(r).toEqual(zones('a', 'b', 'c'));
    expect(calls).toEqual({ nodes: 1, csiNodes: 1 });
  });

  it('recomputes after the generation changes, and only then', () => {
    const l = zoneNodes();
    const { counting, bump } = counted(l);
    expect(accessibilityRequirements(input({ claimUid: 'u1', lookup: counting }))!.requisite).toEqual(zones('a', 'b', 'c'));
    l.nodes.push(node('n4', { zone: 'd' }));
    l.csiNodes.push(csiNode('n4', ['zone']));
    // Same generation: the cached aggregate is used (the lookup promised nothing changed).
    expect(accessibilityRequirements(input({ claimUid: 'u2', lookup: counting }))!.requisite).toEqual(zones('a', 'b', 'c'));
    bump();
    expect(accessibilityRequirements(input({ claimUid: 'u3', lookup: counting }))!.requisite).toEqual(zones('a', 'b', 'c', 'd'));
    l.nodes.splice(0, 1);
    bump();
    expect(accessibilityRequirements(input({ claimUid: 'u4', lookup: counting }))!.requisite).toEqual(zones('b', 'c', 'd'));
  });

  it('gives the same answers as without the cache, for selected nodes and per key set', () => {
    const l = lookup(
      [node('n1', { zone: 'a', rack: 'r1' }), node('n2', { zone: 'b', rack: 'r2' }), node('n3', { zone: 'b', rack: 'r2' })],
      [csiNode('n1', ['zone']), csiNode('n2', ['zone', 'rack']), csiNode('n3', ['zone', 'rack'])],
    );
    const { counting } = counted(l);
    for (const selectedNode of ['n1', 'n2', 'n3', 'n1']) {
      const uid = `sel-${selectedNode}`;
      const plain = accessibilityRequirements(input({ selectedNode, claimUid: uid, lookup: l }));
      const cached = accessibilityRequirements(input({ selectedNode, claimUid: uid, lookup: counting }));
      expect(cached).toEqual(plain);
    }
    expect(accessibilityRequirements(input({ selectedNode: 'n2', lookup: counting }))!.requisite).toEqual([
      { segments: { rack: 'r1', zone: 'a' } },
      { segments: { rack: 'r2', zone: 'b' } },
    ]);
  });

  it('picks the keys of a random CSINode that has some when they differ', () => {
    const l = lookup(
      [node('n1', { zone: 'a', rack: 'r1' }), node('n2', { zone: 'b', rack: 'r2' })],
      [csiNode('none', undefined), csiNode('n1', ['zone']), csiNode('n2', ['rack'])],
    );
    const { counting } = counted(l);
    const zoneTerms = zones('a', 'b');
    const rackTerms = [{ segments: { rack: 'r1' } }, { segments: { rack: 'r2' } }];
    expect(accessibilityRequirements(input({ claimUid: 'low', lookup: counting, random: () => 0 }))!.requisite).toEqual(zoneTerms);
    expect(accessibilityRequirements(input({ claimUid: 'high', lookup: counting, random: () => 0.99 }))!.requisite).toEqual(rackTerms);
    // Without the cache (Go's shuffle), both key sets are possible too.
    const seen = new Set<string>();
    for (const r of [0, 0.3, 0.6, 0.99]) seen.add(JSON.stringify(accessibilityRequirements(input({ claimUid: `p${r}`, lookup: l, random: () => r }))!.requisite));
    expect(seen).toEqual(new Set([JSON.stringify(zoneTerms), JSON.stringify(rackTerms)]));
  });

  it('keeps the per-claim answer on retry even after the generation changed', () => {
    const l = zoneNodes();
    const { counting, bump } = counted(l);
    const cache = new TopologyCache();
    const first = accessibilityRequirements(input({ lookup: counting, cache }));
    l.nodes.push(node('n4', { zone: 'd' }));
    bump();
    expect(accessibilityRequirements(input({ lookup: counting, cache }))).toEqual(first);
  });

  it('sameLabels compares label maps (what invalidates a Node)', () => {
    expect(sameLabels(node('a', { x: '1', y: '2' }), node('a', { y: '2', x: '1' }))).toBe(true);
    expect(sameLabels({ metadata: {} }, node('a', {}))).toBe(true);
    expect(sameLabels(node('a', { x: '1' }), node('a', { x: '2' }))).toBe(false);
    expect(sameLabels(node('a', { x: '1' }), node('a', { x: '1', y: '' }))).toBe(false);
    expect(sameLabels(node('a', { x: '1' }), node('a', { z: '1' }))).toBe(false);
  });
});

describe('volume node affinity', () => {
  it('has one term per accessible topology, none for an empty answer', () => {
    expect(volumeNodeAffinity([])).toBeUndefined();
    expect(volumeNodeAffinity([{ segments: { zone: 'a', rack: 'r' } }, { segments: {} }])).toEqual({
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'rack', operator: 'In', values: ['r'] }, { key: 'zone', operator: 'In', values: ['a'] }] }] },
    });
  });

  it('tells whether a node topology can reach a volume', () => {
    const aff = volumeNodeAffinity([{ segments: { zone: 'a' } }, { segments: { zone: 'b' } }]);
    expect(volumeIsAccessible(aff, { zone: 'b' })).toBe(true);
    expect(volumeIsAccessible(aff, { zone: 'c' })).toBe(false);
    expect(volumeIsAccessible(undefined, { zone: 'c' })).toBe(true);
    expect(volumeIsAccessible(aff, undefined)).toBe(true);
  });
});
