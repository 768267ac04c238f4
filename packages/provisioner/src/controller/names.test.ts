import { describe, expect, it } from '@jest/globals';
import { makeVolumeName, provisionerIdentity } from './names.js';

const UID = '12345678-90ab-cdef-1234-567890abcdef';

describe('makeVolumeName', () => {
  it.each([
    ['pvc', -1, `pvc-${UID}`],
    ['csi', 8, 'csi-12345678'],
    ['pvc', 0, 'pvc-'],
    ['x', 32, 'x-1234567890abcdef1234567890abcdef'],
  ])('prefix %s, uuid length %d → %s', (prefix, len, want) => {
    expect(makeVolumeName(prefix, UID, len)).toBe(want);
  });

  it('refuses an empty prefix, a missing UID and lengths Go would panic on', () => {
    expect(() => makeVolumeName('', UID, -1)).toThrow('volume name prefix cannot be of length 0');
    expect(() => makeVolumeName('pvc', '', -1)).toThrow('missing UID');
    expect(() => makeVolumeName('pvc', UID, 33)).toThrow(/--volume-name-uuid-length/);
    expect(() => makeVolumeName('pvc', UID, -2)).toThrow(/--volume-name-uuid-length/);
  });
});

describe('provisionerIdentity', () => {
  it('has the Go shape, with the node name in node mode', () => {
    expect(provisionerIdentity(1700000000123, 'drv.example.com', undefined, () => 0.42)).toBe('1700000000123-4200-drv.example.com');
    expect(provisionerIdentity(5, 'd', 'node-1', () => 0.99999)).toBe('5-9999-d-node-1');
  });
});
