import { describe, expect, it } from '@jest/globals';
import { createMergePatch, LAST_APPLIED_ANNOTATION, type PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { trimCachedClaim } from './cache-transform.js';

describe('resizer cache transform', () => {
  const claim: PersistentVolumeClaim = {
    metadata: {
      name: 'c',
      namespace: 'ns',
      uid: 'u',
      resourceVersion: '5',
      annotations: { [LAST_APPLIED_ANNOTATION]: '{}', 'volume.kubernetes.io/storage-resizer': 'drv' },
      managedFields: [{ manager: 'kubectl' }],
      finalizers: ['kubernetes.io/pvc-protection'],
    } as PersistentVolumeClaim['metadata'],
    spec: { volumeName: 'pv', resources: { requests: { storage: '2Gi' } }, volumeAttributesClassName: 'gold' },
    status: {
      phase: 'Bound',
      capacity: { storage: '1Gi' },
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
      conditions: [{ type: 'Resizing', status: 'True' }],
      currentVolumeAttributesClassName: 'silver',
    },
  };

  it('keeps spec, status and the annotations the resizer reads', () => {
    const out = trimCachedClaim<PersistentVolumeClaim>(claim);
    expect(out.spec).toEqual(claim.spec);
    expect(out.status).toEqual(claim.status);
    expect(out.metadata?.annotations).toEqual({ 'volume.kubernetes.io/storage-resizer': 'drv' });
    expect(out.metadata?.finalizers).toEqual(claim.metadata?.finalizers);
  });

  it('a status write computed from the trimmed claim never touches the trimmed fields', () => {
    const cached = trimCachedClaim<PersistentVolumeClaim>(claim);
    const next: PersistentVolumeClaim = { ...cached, status: { ...cached.status, capacity: { storage: '2Gi' }, conditions: [] } };
    const patch = createMergePatch(cached, next) as { metadata?: unknown };
    expect(patch).toEqual({ status: { capacity: { storage: '2Gi' }, conditions: [] } });
    expect(patch.metadata).toBeUndefined();
  });
});
