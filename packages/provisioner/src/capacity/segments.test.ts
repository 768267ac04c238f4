import { describe, expect, it } from '@jest/globals';
import type { CSINode, Node } from '@csi-sidecars-ts/shared';
import { managedById, nameWithMaxLength } from './capacity-controller.js';
import { segmentSelector, termSegment, topologySegments } from './segments.js';

const csiNode = (name: string, keys?: string[], driver = 'drv'): CSINode => ({ metadata: { name }, spec: { drivers: keys ? [{ name: driver, nodeID: name, topologyKeys: keys }] : [] } });
const node = (name: string, labels: Record<string, string>): Node => ({ metadata: { name, labels } });

describe('topologySegments', () => {
  it('collects distinct segments of nodes running the driver with all labels', () => {
    const nodes = [node('a', { zone: 'z1', rack: 'r1' }), node('b', { zone: 'z1', rack: 'r1' }), node('c', { zone: 'z2', rack: 'r2' }), node('d', { zone: 'z3' })];
    const csiNodes = [csiNode('a', ['zone', 'rack']), csiNode('b', ['rack', 'zone']), csiNode('c', ['zone', 'rack']), csiNode('d', ['zone', 'rack']), csiNode('e', ['zone']), csiNode('f')];
    const segs = topologySegments(csiNodes, (n) => nodes.find((x) => x.metadata?.name === n), 'drv');
    expect(segs).toEqual([
      [['rack', 'r1'], ['zone', 'z1']],
      [['rack', 'r2'], ['zone', 'z2']],
    ]);
    expect(segmentSelector(segs[0]!)).toEqual({ matchLabels: { rack: 'r1', zone: 'z1' } });
    expect(segmentSelector([])).toEqual({});
  });

  it('reads segments back from PV node selector terms', () => {
    expect(termSegment({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] })).toEqual([['zone', 'a']]);
    expect(termSegment({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] })).toBeUndefined();
    expect(termSegment({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })).toBeUndefined();
  });
});

describe('managed-by names', () => {
  it('appends the node and shortens long names with a hash like Go', () => {
    expect(managedById()).toBe('external-provisioner');
    expect(managedById('node-1')).toBe('external-provisioner-node-1');
    const long = managedById('n'.repeat(60));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(nameWithMaxLength('external-provisioner', 'worker-7', 20)).toMatch(/^ex-[0-9a-f]{8}-worker-7$/);
    expect(long).toMatch(/^external-provisioner-[0-9a-f]{8}$/);
  });
});
