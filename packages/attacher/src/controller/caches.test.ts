import { describe, expect, it } from '@jest/globals';
import { LAST_APPLIED_ANNOTATION, type PersistentVolume } from '@csi-sidecars-ts/shared';
import { trimPersistentVolume } from './caches.js';

describe('attacher PersistentVolume cache transform', () => {
  it('keeps what attach, detach and migration read (spec, finalizers, deletion, annotations, labels) and drops the rest', () => {
    const pv: PersistentVolume = {
      metadata: {
        name: 'pv',
        uid: 'u',
        resourceVersion: '3',
        deletionTimestamp: '2026-01-01T00:00:00Z',
        finalizers: ['external-attacher/drv'],
        labels: { 'topology.kubernetes.io/zone': 'z' },
        annotations: { [LAST_APPLIED_ANNOTATION]: '{}', 'pv.kubernetes.io/migrated-to': 'pd.csi.storage.gke.io' },
        managedFields: [{ manager: 'm' }],
      } as PersistentVolume['metadata'],
      spec: { gcePersistentDisk: { pdName: 'd' }, accessModes: ['ReadWriteOnce'], claimRef: { namespace: 'ns', name: 'c' } },
      status: { phase: 'Bound' },
    };
    const out = trimPersistentVolume<PersistentVolume>(pv);
    expect(out.spec).toEqual(pv.spec);
    expect(out.metadata).toEqual({
      name: 'pv',
      uid: 'u',
      resourceVersion: '3',
      deletionTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['external-attacher/drv'],
      labels: { 'topology.kubernetes.io/zone': 'z' },
      annotations: { 'pv.kubernetes.io/migrated-to': 'pd.csi.storage.gke.io' },
    });
    expect(out.status).toBeUndefined();
  });
});
