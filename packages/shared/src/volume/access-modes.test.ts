import { describe, expect, it } from '@jest/globals';
import { AccessModeError, toCsiAccessMode } from './access-modes.js';

describe('toCsiAccessMode', () => {
  it.each([
    [['ReadWriteOnce'], false, 'SINGLE_NODE_WRITER'],
    [['ReadWriteOnce'], true, 'SINGLE_NODE_MULTI_WRITER'],
    [['ReadWriteOncePod'], false, 'SINGLE_NODE_WRITER'],
    [['ReadWriteOncePod'], true, 'SINGLE_NODE_SINGLE_WRITER'],
    [['ReadOnlyMany'], false, 'MULTI_NODE_READER_ONLY'],
    [['ReadWriteMany'], false, 'MULTI_NODE_MULTI_WRITER'],
    [['ReadWriteMany', 'ReadOnlyMany'], true, 'MULTI_NODE_MULTI_WRITER'],
    [['ReadWriteMany', 'ReadWriteOnce'], false, 'MULTI_NODE_MULTI_WRITER'],
  ])('%j (single-node-multi-writer %s) → %s', (modes, snmw, expected) => {
    expect(toCsiAccessMode(modes, snmw)).toBe(expected);
  });

  it.each([[[]], [undefined], [['ReadOnlyMany', 'ReadWriteOnce']], [['ReadWriteOncePod', 'ReadWriteOnce']], [['Bogus']]])(
    'rejects %j',
    (modes) => {
      expect(() => toCsiAccessMode(modes, false)).toThrow(AccessModeError);
    },
  );
});
