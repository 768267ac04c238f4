import { describe, expect, it } from '@jest/globals';
import type { PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { volumeCapabilities } from './capabilities.js';

const claim = (accessModes: string[], volumeMode?: string): PersistentVolumeClaim => ({ spec: { accessModes, volumeMode } });

describe('volumeCapabilities', () => {
  it('maps each access mode on its own, with the mount options', () => {
    expect(volumeCapabilities(claim(['ReadWriteOnce', 'ReadOnlyMany']), 'ext4', ['ro', 'noatime'], false)).toEqual([
      { mount: { fs_type: 'ext4', mount_flags: ['ro', 'noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      { mount: { fs_type: 'ext4', mount_flags: ['ro', 'noatime'] }, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } },
    ]);
  });

  it('uses the finer single-node modes with SINGLE_NODE_MULTI_WRITER', () => {
    const caps = volumeCapabilities(claim(['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany']), '', undefined, true);
    expect(caps.map((c) => c.access_mode?.mode)).toEqual(['SINGLE_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER']);
    expect(volumeCapabilities(claim(['ReadWriteOncePod']), '', undefined, false)[0]!.access_mode?.mode).toBe('SINGLE_NODE_WRITER');
  });

  it('sends block{} for block claims and refuses unknown modes', () => {
    expect(volumeCapabilities(claim(['ReadWriteMany'], 'Block'), 'ext4', ['x'], false)).toEqual([{ block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }]);
    expect(() => volumeCapabilities(claim(['Bogus']), '', undefined, false)).toThrow(/unsupported AccessMode/);
  });
});
