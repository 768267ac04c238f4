import { describe, expect, it } from '@jest/globals';
import { fsTypeFromParameters, stripReservedParameters, withExtraCreateMetadata } from './parameters.js';

describe('fsTypeFromParameters', () => {
  it.each([
    [{ 'csi.storage.k8s.io/fstype': 'xfs' }, '', 'xfs', false],
    [{ FsType: 'ext3' }, '', 'ext3', true],
    [{}, 'ext4', 'ext4', false],
    [{}, '', '', false],
    [{ 'csi.storage.k8s.io/fstype': '' }, 'ext4', 'ext4', false],
  ])('%j default %s → %s', (params, def, fsType, deprecated) => {
    expect(fsTypeFromParameters(params, def)).toEqual({ fsType, deprecatedKeyUsed: deprecated });
  });

  it('refuses both keys', () => {
    expect(() => fsTypeFromParameters({ fstype: 'a', 'csi.storage.k8s.io/fstype': 'b' }, '')).toThrow(
      'fstype specified in parameters with both "fstype" and "csi.storage.k8s.io/fstype" keys',
    );
  });
});

describe('stripReservedParameters', () => {
  it('removes the recognised keys and keeps deprecated ones', () => {
    expect(
      stripReservedParameters({
        a: '1',
        'csi.storage.k8s.io/fstype': 'ext4',
        'csi.storage.k8s.io/provisioner-secret-name': 'x',
        'csi.storage.k8s.io/controller-modify-secret-namespace': 'y',
        csiProvisionerSecretName: 'kept',
        fstype: 'kept-too',
      }),
    ).toEqual({ a: '1', csiProvisionerSecretName: 'kept', fstype: 'kept-too' });
  });

  it('refuses an unknown key in the reserved namespace', () => {
    expect(() => stripReservedParameters({ 'csi.storage.k8s.io/bogus': 'x' })).toThrow(
      'found unknown parameter key "csi.storage.k8s.io/bogus" with reserved namespace csi.storage.k8s.io/',
    );
  });

  it('adds the extra metadata after stripping', () => {
    expect(withExtraCreateMetadata({ a: '1' }, 'c', 'ns', 'pv')).toEqual({
      a: '1',
      'csi.storage.k8s.io/pvc/name': 'c',
      'csi.storage.k8s.io/pvc/namespace': 'ns',
      'csi.storage.k8s.io/pv/name': 'pv',
    });
  });
});
