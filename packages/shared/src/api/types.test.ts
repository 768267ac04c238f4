import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim } from './types.js';

describe('wire types', () => {
  it('type a PVC exactly as the API server sends it, timestamps as strings', () => {
    const json = '{"metadata":{"name":"c","namespace":"ns","creationTimestamp":"2026-11-21T21:00:00Z"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}';
    const pvc = JSON.parse(json) as PersistentVolumeClaim;
    const created: string | undefined = pvc.metadata?.creationTimestamp;
    expect(created).toBe('2026-11-21T21:00:00Z');
    expect(pvc.spec?.resources?.requests?.storage).toBe('1Gi');
  });
});
