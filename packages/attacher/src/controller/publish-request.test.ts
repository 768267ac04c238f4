import { describe, expect, it } from '@jest/globals';
import { csiPv } from '../__fixtures__/objects.js';
import { publishRequestOf, unpublishRequestOf, volumeCapabilityOf } from './publish-request.js';
import { csiVolumeOfPv } from './volume-source.js';
import { createMigrationTranslator } from '../migration/translator.js';

const t = createMigrationTranslator();
const specOf = (opts: Parameters<typeof csiPv>[1]) => csiPv('pv', opts).spec!;

describe('volumeCapabilityOf', () => {
  it('asks for a block volume for volumeMode Block', () => {
    expect(volumeCapabilityOf(specOf({ volumeMode: 'Block', fsType: 'ext4' }), false, 'xfs')).toEqual({ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } });
  });

  it('asks for a mount volume with the PV fsType and mount options', () => {
    expect(volumeCapabilityOf(specOf({ fsType: 'ext4', mountOptions: ['ro', 'noatime'] }), false, 'xfs')).toEqual({
      mount: { fs_type: 'ext4', mount_flags: ['ro', 'noatime'] },
      access_mode: { mode: 'SINGLE_NODE_WRITER' },
    });
  });

  it('falls back to --default-fstype, and to none when that is empty', () => {
    expect(volumeCapabilityOf(specOf({}), false, 'xfs')).toMatchObject({ mount: { fs_type: 'xfs', mount_flags: [] } });
    expect(volumeCapabilityOf(specOf({}), false, '')).toMatchObject({ mount: { fs_type: '' } });
  });

  it.each([
    [['ReadWriteOnce'], false, 'SINGLE_NODE_WRITER'],
    [['ReadWriteOnce'], true, 'SINGLE_NODE_MULTI_WRITER'],
    [['ReadWriteOncePod'], true, 'SINGLE_NODE_SINGLE_WRITER'],
    [['ReadOnlyMany'], false, 'MULTI_NODE_READER_ONLY'],
    [['ReadWriteMany', 'ReadOnlyMany'], false, 'MULTI_NODE_MULTI_WRITER'],
  ])('maps access modes %j (SINGLE_NODE_MULTI_WRITER=%s) to %s', (modes, snmw, want) => {
    expect(volumeCapabilityOf(specOf({ accessModes: modes }), snmw, '')).toMatchObject({ access_mode: { mode: want } });
  });

  it('rejects access modes CSI cannot express', () => {
    expect(() => volumeCapabilityOf(specOf({ accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] }), false, '')).toThrow(/unsupported AccessMode combination/);
  });
});

describe('publishRequestOf', () => {
  const volume = csiVolumeOfPv(csiPv('pv', { handle: 'vol-9', readOnly: true, attributes: { a: '1' } }), t);

  it('sends handle, node, capability, context and secrets', () => {
    expect(publishRequestOf(volume, 'node-9', { user: 'u' }, { publishReadonly: true, singleNodeMultiWriter: false }, '')).toEqual({
      volume_id: 'vol-9',
      node_id: 'node-9',
      volume_capability: { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
      readonly: true,
      volume_context: { a: '1' },
      secrets: { user: 'u' },
    });
  });

  it('sends readonly=false without PUBLISH_READONLY', () => {
    expect(publishRequestOf(volume, 'n', {}, { publishReadonly: false, singleNodeMultiWriter: false }, '').readonly).toBe(false);
  });

  it('builds the unpublish request', () => {
    expect(unpublishRequestOf(volume, 'node-9', { s: 'x' })).toEqual({ volume_id: 'vol-9', node_id: 'node-9', secrets: { s: 'x' } });
  });
});
