import { describe, expect, it } from '@jest/globals';
import type { PersistentVolume } from '@csi-sidecars-ts/shared';
import { PV_FINALIZER } from './constants.js';
import { deletionSecretSource, desiredFinalizers, isOurVolume, shouldDeleteVolume } from './volume-decision.js';

const known = new Set(['drv']);

function pv(o: { ann?: Record<string, string>; driver?: string; policy?: string; phase?: string; finalizers?: string[]; deleting?: boolean } = {}): PersistentVolume {
  return {
    metadata: { name: 'pv', annotations: o.ann, finalizers: o.finalizers, deletionTimestamp: o.deleting ? '2026-01-01T00:00:00Z' : undefined },
    spec: { csi: o.driver ? { driver: o.driver, volumeHandle: 'h' } : undefined, persistentVolumeReclaimPolicy: o.policy ?? 'Delete' },
    status: { phase: o.phase ?? 'Bound' },
  };
}

describe('isOurVolume', () => {
  it.each([
    [{ ann: { 'pv.kubernetes.io/provisioned-by': 'drv' } }, true],
    [{ ann: { 'pv.kubernetes.io/provisioned-by': 'other' }, driver: 'drv' }, false],
    [{ ann: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/x', 'pv.kubernetes.io/migrated-to': 'drv' } }, true],
    [{ driver: 'drv' }, true],
    [{ driver: 'other' }, false],
    [{ ann: { 'pv.kubernetes.io/migrated-to': 'drv' } }, true],
    [{}, false],
  ])('%j → %s', (o, want) => {
    expect(isOurVolume(pv(o), known)).toBe(want);
  });
});

describe('finalizer and deletion decisions', () => {
  it('adds the finalizer to bound Delete volumes and removes it from Retain ones', () => {
    expect(desiredFinalizers(pv({ finalizers: ['kubernetes.io/pv-protection'] }))).toEqual(['kubernetes.io/pv-protection', PV_FINALIZER]);
    expect(desiredFinalizers(pv({ finalizers: [PV_FINALIZER] }))).toBeUndefined();
    expect(desiredFinalizers(pv({ phase: 'Released' }))).toBeUndefined();
    expect(desiredFinalizers(pv({ deleting: true }))).toBeUndefined();
    expect(desiredFinalizers(pv({ policy: 'Retain', finalizers: [PV_FINALIZER, 'x'] }))).toEqual(['x']);
    expect(desiredFinalizers(pv({ policy: 'Recycle', finalizers: ['x'] }))).toBeUndefined();
  });

  it('deletes only Released Delete volumes, and not those already finalized by someone else', () => {
    expect(shouldDeleteVolume(pv({ phase: 'Released' }))).toBe(true);
    expect(shouldDeleteVolume(pv({ phase: 'Bound' }))).toBe(false);
    expect(shouldDeleteVolume(pv({ phase: 'Released', policy: 'Retain' }))).toBe(false);
    expect(shouldDeleteVolume(pv({ phase: 'Released', deleting: true }))).toBe(false);
    expect(shouldDeleteVolume(pv({ phase: 'Released', deleting: true, finalizers: [PV_FINALIZER] }))).toBe(true);
  });

  it('finds the deletion secret in the annotations, or says where to look', () => {
    const ann = (name: string, namespace: string) => ({
      'volume.kubernetes.io/provisioner-deletion-secret-name': name,
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': namespace,
    });
    expect(deletionSecretSource(pv({ ann: ann('s', 'ns') }))).toEqual({ from: 'annotations', name: 's', namespace: 'ns' });
    expect(deletionSecretSource(pv({ ann: ann('', '') }))).toEqual({ from: 'none' });
    expect(deletionSecretSource(pv({}))).toEqual({ from: 'storageclass' });
  });
});
