import { describe, expect, it } from '@jest/globals';
import { DRIVER, csiNode, va } from '../__fixtures__/objects.js';
import { NodeIdError, resolveNodeId } from './node-id.js';

const annotated = va('va', { annotations: { 'csi.alpha.kubernetes.io/node-id': 'from-annotation' } });

describe('resolveNodeId', () => {
  it('reads the node ID from CSINode first', () => {
    expect(resolveNodeId(DRIVER, 'node-1', csiNode('node-1', { other: 'x', [DRIVER]: 'csi-node-1' }), annotated)).toBe('csi-node-1');
  });

  it('has no fallback on attach (no VA given)', () => {
    expect(() => resolveNodeId(DRIVER, 'node-1', undefined)).toThrow(new NodeIdError('csinode.storage.k8s.io "node-1" not found'));
    expect(() => resolveNodeId(DRIVER, 'node-1', csiNode('node-1', { other: 'x' }))).toThrow(`CSINode node-1 does not contain driver ${DRIVER}`);
  });

  it('falls back to the VA annotation when the CSINode is gone or lacks the driver', () => {
    expect(resolveNodeId(DRIVER, 'node-1', undefined, annotated)).toBe('from-annotation');
    expect(resolveNodeId(DRIVER, 'node-1', csiNode('node-1', {}), annotated)).toBe('from-annotation');
  });

  it('fails when neither has it', () => {
    expect(() => resolveNodeId(DRIVER, 'node-1', undefined, va('va'))).toThrow(NodeIdError);
  });
});
