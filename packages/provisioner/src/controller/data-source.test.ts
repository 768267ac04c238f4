import { describe, expect, it } from '@jest/globals';
import type { PersistentVolume, PersistentVolumeClaim, VolumeSnapshot, VolumeSnapshotContent } from '@csi-sidecars-ts/shared';
import { CLONE_SOURCE_INVALID, cloneContentSource, referenceGranted, resolveDataSource, snapshotContentSource } from './data-source.js';

const claim = (spec: PersistentVolumeClaim['spec']): PersistentVolumeClaim => ({
  metadata: { name: 'new', namespace: 'ns', uid: 'u-new' },
  spec: { storageClassName: 'sc', resources: { requests: { storage: '2Gi' } }, ...spec },
});

describe('resolveDataSource', () => {
  it('prefers dataSource, then dataSourceRef, and guards cross-namespace refs', () => {
    expect(resolveDataSource(claim({ dataSource: { kind: 'VolumeSnapshot', name: 's', apiGroup: 'snapshot.storage.k8s.io' } }), false)).toEqual({
      kind: 'VolumeSnapshot',
      name: 's',
      apiGroup: 'snapshot.storage.k8s.io',
      namespace: 'ns',
    });
    expect(resolveDataSource(claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src' } }), false)).toEqual({
      kind: 'PersistentVolumeClaim',
      name: 'src',
      apiGroup: '',
      namespace: 'ns',
    });
    expect(() => resolveDataSource(claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src', namespace: 'other' } }), false)).toThrow(
      /CrossNamespaceVolumeDataSource feature is disabled/,
    );
    expect(resolveDataSource(claim({}), false)).toBeUndefined();
  });

  it('checks ReferenceGrants for cross-namespace sources', () => {
    const c = claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src', namespace: 'other' } });
    const grant = {
      metadata: { namespace: 'other' },
      spec: { from: [{ group: '', kind: 'PersistentVolumeClaim', namespace: 'ns' }], to: [{ group: '', kind: 'PersistentVolumeClaim' }] },
    };
    expect(referenceGranted(c, [grant])).toBe(true);
    expect(referenceGranted(c, [{ ...grant, spec: { ...grant.spec, to: [{ group: '', kind: 'PersistentVolumeClaim', name: 'x' }] } }])).toBe(false);
    expect(referenceGranted(c, [])).toBe(false);
  });

  it('reads an apiGroup the apiserver sends as null as the core group', () => {
    // TypedObjectReference.apiGroup has no omitempty: unset arrives as "apiGroup": null.
    const ref = JSON.parse('{"apiGroup":null,"kind":"PersistentVolumeClaim","name":"src","namespace":"other"}') as { kind: string; name: string };
    const c = claim({ dataSourceRef: ref });
    const grant = (to: { group: string; kind: string }) => ({
      metadata: { namespace: 'other' },
      spec: { from: [{ group: '', kind: 'PersistentVolumeClaim', namespace: 'ns' }], to: [to] },
    });
    expect(referenceGranted(c, [grant({ group: '', kind: 'PersistentVolumeClaim' })])).toBe(true);
    expect(referenceGranted(c, [grant({ group: 'example.com', kind: 'PersistentVolumeClaim' })])).toBe(false);
    const snapshotRef = claim({ dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's', namespace: 'other' } });
    expect(referenceGranted(snapshotRef, [grant({ group: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot' })])).toBe(true);
    expect(referenceGranted(snapshotRef, [grant({ group: '', kind: 'VolumeSnapshot' })])).toBe(false);
  });
});

describe('snapshotContentSource', () => {
  const snap: VolumeSnapshot = {
    metadata: { name: 'snap', namespace: 'ns', uid: 'su' },
    status: { boundVolumeSnapshotContentName: 'content', readyToUse: true, restoreSize: '1Gi' },
  };
  const content: VolumeSnapshotContent = {
    metadata: { name: 'content' },
    spec: { driver: 'drv', volumeSnapshotRef: { name: 'snap', namespace: 'ns', uid: 'su' }, sourceVolumeMode: 'Filesystem' },
    status: { snapshotHandle: 'handle-1' },
  };
  const src = (c: PersistentVolumeClaim, s = snap, ct: VolumeSnapshotContent | undefined = content, prevent = true) => snapshotContentSource(c, 'drv', 'sc', s, ct, prevent);

  it('returns the snapshot handle when every check passes', () => {
    expect(src(claim({}))).toEqual({ snapshot: { snapshot_id: 'handle-1' } });
  });

  it.each<[string, () => unknown, string | RegExp]>([
    ['not bound', () => src(claim({}), { ...snap, status: { readyToUse: true } }), 'snapshot snap not bound'],
    ['other snapshot', () => src(claim({}), snap, { ...content, spec: { ...content.spec, volumeSnapshotRef: { name: 'x', namespace: 'ns', uid: 'su' } } }), /bound to a different snapshot/],
    ['other driver', () => src(claim({}), snap, { ...content, spec: { ...content.spec, driver: 'x' } }), /is not handled by CSI driver of StorageClass sc/],
    ['not ready', () => src(claim({}), { ...snap, status: { ...snap.status, readyToUse: false } }), 'snapshot snap is not Ready'],
    ['no handle', () => src(claim({}), snap, { ...content, status: {} }), 'snapshot handle snap is not available'],
    ['too small', () => src(claim({ resources: { requests: { storage: '512Mi' } } })), /requested volume size 536870912 is less than the size 1073741824/],
    ['deleting', () => src(claim({}), { ...snap, metadata: { ...snap.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } }), 'snapshot snap is being deleted'],
    ['mode change', () => src(claim({ volumeMode: 'Block' })), /annotation is not present on snapshotcontent content/],
  ])('refuses: %s', (_name, fn, msg) => {
    expect(fn).toThrow(msg);
  });

  it('allows a deleting snapshot that carries our protection finalizer, and mode changes when permitted', () => {
    const deleting = { ...snap, metadata: { ...snap.metadata, deletionTimestamp: 'x', finalizers: ['provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection'] } };
    expect(src(claim({}), deleting)).toEqual({ snapshot: { snapshot_id: 'handle-1' } });
    const allowed = { ...content, metadata: { name: 'content', annotations: { 'snapshot.storage.kubernetes.io/allow-volume-mode-change': 'true' } } };
    expect(src(claim({ volumeMode: 'Block' }), snap, allowed)).toEqual({ snapshot: { snapshot_id: 'handle-1' } });
    expect(src(claim({ volumeMode: 'Block' }), snap, content, false)).toEqual({ snapshot: { snapshot_id: 'handle-1' } });
  });
});

describe('cloneContentSource', () => {
  const source: PersistentVolumeClaim = {
    metadata: { name: 'src', namespace: 'ns', uid: 'u-src' },
    spec: { storageClassName: 'sc', volumeName: 'pv-src', resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound' },
  };
  const pv: PersistentVolume = {
    metadata: { name: 'pv-src' },
    spec: { csi: { driver: 'drv', volumeHandle: 'vol-src' }, claimRef: { name: 'src', namespace: 'ns', uid: 'u-src' } },
    status: { phase: 'Bound' },
  };

  it('returns the source volume id', () => {
    expect(cloneContentSource(claim({}), 'drv', source, pv)).toEqual({ volume: { volume_id: 'vol-src' } });
  });

  it('refuses unbound, smaller, foreign and mode-changing clones', () => {
    expect(() => cloneContentSource(claim({}), 'drv', { ...source, status: { phase: 'Pending' } }, pv)).toThrow(/must have a status of Bound/);
    expect(() => cloneContentSource(claim({ resources: { requests: { storage: '1Mi' } } }), 'drv', source, pv)).toThrow(/greater than or equal in size/);
    expect(() => cloneContentSource(claim({}), 'other', source, pv)).toThrow(CLONE_SOURCE_INVALID);
    expect(() => cloneContentSource(claim({}), 'drv', source, undefined)).toThrow(CLONE_SOURCE_INVALID);
    expect(() => cloneContentSource(claim({ volumeMode: 'Block' }), 'drv', source, pv)).toThrow(/Source is Filesystem, but new PVC requested Block/);
  });
});
