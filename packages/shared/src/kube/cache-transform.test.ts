import { describe, expect, it } from '@jest/globals';
import { dropBookkeeping, dropBookkeepingAndStatus, dropManagedFields, LAST_APPLIED_ANNOTATION } from './cache-transform.js';
import type { KubeObject } from './object.js';

const full = (): KubeObject & { spec: unknown; status: unknown } => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: {
    name: 'pv-1',
    uid: 'u-1',
    resourceVersion: '7',
    generation: 2,
    deletionTimestamp: '2026-01-01T00:00:00Z',
    finalizers: ['kubernetes.io/pv-protection', 'external-attacher/io-kubernetes-storage-mock'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'o-1' }],
    labels: { zone: 'a' },
    annotations: { [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}', 'pv.kubernetes.io/provisioned-by': 'drv' },
    managedFields: [{ manager: 'kcm', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { csi: { driver: 'drv', volumeHandle: 'h' }, claimRef: { namespace: 'ns', name: 'c' } },
  status: { phase: 'Bound' },
});

const identity = (o: KubeObject) => {
  const m = o.metadata!;
  return { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, generation: m.generation, deletionTimestamp: m.deletionTimestamp, finalizers: m.finalizers, ownerReferences: m.ownerReferences, labels: m.labels };
};

describe('cache transforms', () => {
  it('dropManagedFields drops only managedFields and keeps every other field', () => {
    const obj = full();
    const out = dropManagedFields<typeof obj>(obj);
    const { managedFields: _m, ...meta } = obj.metadata!;
    expect(out).toEqual({ ...obj, metadata: meta });
    expect(obj.metadata?.managedFields).toBeDefined(); // the input is not modified
  });

  it('dropBookkeeping also drops the last-applied annotation, keeping identity, lifecycle, spec and status', () => {
    const obj = full();
    const out = dropBookkeeping<typeof obj>(obj);
    expect(identity(out)).toEqual(identity(obj));
    expect(out.metadata?.managedFields).toBeUndefined();
    expect(out.metadata?.annotations).toEqual({ 'pv.kubernetes.io/provisioned-by': 'drv' });
    expect(out.spec).toBe(obj.spec);
    expect(out.status).toBe(obj.status);
  });

  it('dropBookkeepingAndStatus also drops status', () => {
    const obj = full();
    const out = dropBookkeepingAndStatus<typeof obj>(obj);
    expect(identity(out)).toEqual(identity(obj));
    expect(out.spec).toEqual(obj.spec);
    expect('status' in out).toBe(false);
  });

  it('returns the same instance when there is nothing to drop (cheap on watch events), and is idempotent', () => {
    const lean: KubeObject = { metadata: { name: 'x', annotations: { a: 'b' } } };
    expect(dropManagedFields(lean)).toBe(lean);
    expect(dropBookkeeping(lean)).toBe(lean);
    expect(dropBookkeepingAndStatus(lean)).toBe(lean);
    const once = dropBookkeepingAndStatus(full());
    expect(dropBookkeepingAndStatus(once)).toBe(once);
  });
});
