import { describe, expect, it } from '@jest/globals';
import { trimCachedObject } from './cache-transform.js';

describe('trimCachedObject', () => {
  it('drops managedFields and keeps everything else', () => {
    const obj = { kind: 'PersistentVolumeClaim', metadata: { name: 'c', uid: 'u', resourceVersion: '5', annotations: { a: 'b' }, managedFields: [{ manager: 'x' }] }, spec: { x: 1 } };
    expect(trimCachedObject(obj)).toEqual({ kind: 'PersistentVolumeClaim', metadata: { name: 'c', uid: 'u', resourceVersion: '5', annotations: { a: 'b' } }, spec: { x: 1 } });
    const plain = { metadata: { name: 'p' } };
    expect(trimCachedObject(plain)).toBe(plain);
  });
});
