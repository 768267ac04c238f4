import { describe, expect, it } from '@jest/globals';
import type { AccessModeName, ControllerPublishVolumeRequest, PersistentVolume } from '@csi-sidecars-ts/shared';
import { csiPv } from '../__fixtures__/objects.js';
import { publishRequestOf, unpublishRequestOf, volumeCapabilityOf } from './publish-request.js';
import type { PublishCapabilities } from './publish-request.js';
import { csiVolumeOfInline, csiVolumeOfPv } from './volume-source.js';
import { createMigrationTranslator } from '@csi-sidecars-ts/shared';

const t = createMigrationTranslator();
const specOf = (opts: Parameters<typeof csiPv>[1]) => csiPv('pv', opts).spec!;
const NONE: PublishCapabilities = { publishReadonly: false, singleNodeMultiWriter: false };
const READONLY: PublishCapabilities = { publishReadonly: true, singleNodeMultiWriter: false };
const SNMW: PublishCapabilities = { publishReadonly: false, singleNodeMultiWriter: true };
const mount = (fs_type: string, mount_flags: string[] = [], mode: AccessModeName = 'SINGLE_NODE_WRITER') => ({ mount: { fs_type, mount_flags }, access_mode: { mode } });

describe('volumeCapabilityOf', () => {
  it('asks for a block volume for volumeMode Block', () => {
    expect(volumeCapabilityOf(specOf({ volumeMode: 'Block', fsType: 'ext4' }), false, 'xfs')).toEqual({ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } });
  });

  it('asks for a mount volume with the PV fsType and mount options', () => {
    expect(volumeCapabilityOf(specOf({ fsType: 'ext4', mountOptions: ['ro', 'noatime'] }), false, 'xfs')).toEqual(mount('ext4', ['ro', 'noatime']));
  });

  it('falls back to --default-fstype, and to none when that is empty', () => {
    expect(volumeCapabilityOf(specOf({}), false, 'xfs')).toMatchObject({ mount: { fs_type: 'xfs', mount_flags: [] } });
    expect(volumeCapabilityOf(specOf({}), false, '')).toMatchObject({ mount: { fs_type: '' } });
  });

  it.each([
    [['ReadWriteOnce'], false, 'SINGLE_NODE_WRITER'],
    [['ReadWriteOnce'], true, 'SINGLE_NODE_MULTI_WRITER'],
    [['ReadWriteOncePod'], false, 'SINGLE_NODE_WRITER'],
    [['ReadWriteOncePod'], true, 'SINGLE_NODE_SINGLE_WRITER'],
    [['ReadOnlyMany'], false, 'MULTI_NODE_READER_ONLY'],
    [['ReadWriteMany'], false, 'MULTI_NODE_MULTI_WRITER'],
    [['ReadWriteMany', 'ReadOnlyMany'], false, 'MULTI_NODE_MULTI_WRITER'],
  ])('maps access modes %j (SINGLE_NODE_MULTI_WRITER=%s) to %s', (modes, snmw, want) => {
    expect(volumeCapabilityOf(specOf({ accessModes: modes }), snmw, '')).toMatchObject({ access_mode: { mode: want } });
  });

  it.each([[['ReadWriteOnce', 'ReadOnlyMany']], [['ReadWriteOncePod', 'ReadWriteMany']]])('rejects access modes CSI cannot express: %j', (modes) => {
    expect(() => volumeCapabilityOf(specOf({ accessModes: modes }), false, '')).toThrow(/AccessMode/);
  });
});

describe('publishRequestOf', () => {
  interface Case {
    name: string;
    pv: PersistentVolume;
    nodeId?: string;
    secrets?: Record<string, string>;
    caps?: PublishCapabilities;
    defaultFsType?: string;
    want: ControllerPublishVolumeRequest;
  }
  const base = { volume_id: 'vol-1', node_id: 'node-id-1', readonly: false, volume_context: {}, secrets: {} };
  const cases: Case[] = [
    {
      name: 'a plain RWO filesystem volume',
      pv: csiPv('pv', { handle: 'vol-1', fsType: 'ext4' }),
      want: { ...base, volume_capability: mount('ext4') },
    },
    {
      name: '--default-fstype for a PV without fsType',
      pv: csiPv('pv', { handle: 'vol-1' }),
      defaultFsType: 'xfs',
      want: { ...base, volume_capability: mount('xfs') },
    },
    {
      name: 'the PV fsType wins over --default-fstype, with its mount options',
      pv: csiPv('pv', { handle: 'vol-1', fsType: 'ext4', mountOptions: ['noatime', 'discard'] }),
      defaultFsType: 'xfs',
      want: { ...base, volume_capability: mount('ext4', ['noatime', 'discard']) },
    },
    {
      name: 'a block volume (no fsType, no mount options)',
      pv: csiPv('pv', { handle: 'vol-1', volumeMode: 'Block', fsType: 'ext4', mountOptions: ['x'] }),
      defaultFsType: 'xfs',
      want: { ...base, volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } },
    },
    {
      name: 'readOnly with PUBLISH_READONLY',
      pv: csiPv('pv', { handle: 'vol-1', readOnly: true }),
      caps: READONLY,
      want: { ...base, readonly: true, volume_capability: mount('') },
    },
    {
      name: 'readOnly without PUBLISH_READONLY is sent as false',
      pv: csiPv('pv', { handle: 'vol-1', readOnly: true }),
      caps: NONE,
      want: { ...base, readonly: false, volume_capability: mount('') },
    },
    {
      name: 'a writable PV with PUBLISH_READONLY',
      pv: csiPv('pv', { handle: 'vol-1', readOnly: false }),
      caps: READONLY,
      want: { ...base, readonly: false, volume_capability: mount('') },
    },
    {
      name: 'RWOP with SINGLE_NODE_MULTI_WRITER',
      pv: csiPv('pv', { handle: 'vol-1', accessModes: ['ReadWriteOncePod'] }),
      caps: SNMW,
      want: { ...base, volume_capability: mount('', [], 'SINGLE_NODE_SINGLE_WRITER') },
    },
    {
      name: 'volume attributes as the volume context, and the publish secrets',
      pv: csiPv('pv', { handle: 'vol-1', attributes: { tier: 'gold', 'storage.kubernetes.io/csiProvisionerIdentity': 'p' } }),
      secrets: { user: 'u', password: 'p' },
      want: {
        ...base,
        volume_capability: mount(''),
        volume_context: { tier: 'gold', 'storage.kubernetes.io/csiProvisionerIdentity': 'p' },
        secrets: { user: 'u', password: 'p' },
      },
    },
    {
      name: 'an in-tree AWS EBS PV, translated',
      pv: { metadata: { name: 'pv' }, spec: { accessModes: ['ReadWriteOnce'], awsElasticBlockStore: { volumeID: 'aws://us-east-1a/vol-0abc', fsType: 'xfs', partition: 1 } } },
      nodeId: 'i-123',
      want: { ...base, volume_id: 'vol-0abc', node_id: 'i-123', volume_capability: mount('xfs'), volume_context: { partition: '1' } },
    },
    {
      name: 'an in-tree GCE PD PV: RWX normalised to RWO by the translation',
      pv: { metadata: { name: 'pv' }, spec: { accessModes: ['ReadWriteMany'], gcePersistentDisk: { pdName: 'd1', fsType: 'ext4' } } },
      // csi-translation-lib always sets the partition attribute, empty for partition 0.
      want: { ...base, volume_id: 'projects/UNSPECIFIED/zones/UNSPECIFIED/disks/d1', volume_capability: mount('ext4'), volume_context: { partition: '' } },
    },
  ];

  it.each(cases)('$name', ({ pv, nodeId, secrets, caps, defaultFsType, want }) => {
    const volume = csiVolumeOfPv(pv, t);
    expect(publishRequestOf(volume, nodeId ?? 'node-id-1', secrets ?? {}, caps ?? NONE, defaultFsType ?? '')).toEqual(want);
  });

  it('builds the same request from an inline volume spec', () => {
    const spec = csiPv('unused', { handle: 'vol-1', fsType: 'ext4', attributes: { a: '1' } }).spec!;
    expect(publishRequestOf(csiVolumeOfInline(spec), 'node-id-1', {}, NONE, '')).toEqual({ ...base, volume_capability: mount('ext4'), volume_context: { a: '1' } });
  });

  it('copies the volume attributes and mount options instead of sharing them with the cached PV', () => {
    const pv = csiPv('pv', { handle: 'vol-1', attributes: { a: '1' }, mountOptions: ['m'] });
    const req = publishRequestOf(csiVolumeOfPv(pv, t), 'n', {}, NONE, '');
    req.volume_context!.a = 'changed';
    (req.volume_capability as { mount: { mount_flags: string[] } }).mount.mount_flags.push('x');
    expect(pv.spec?.csi?.volumeAttributes).toEqual({ a: '1' });
    expect(pv.spec?.mountOptions).toEqual(['m']);
  });
});

describe('unpublishRequestOf', () => {
  it.each([
    ['a CSI PV', csiPv('pv', { handle: 'vol-9' }), 'node-9', { s: 'x' }, { volume_id: 'vol-9', node_id: 'node-9', secrets: { s: 'x' } }],
    ['no secrets', csiPv('pv', { handle: 'vol-9', readOnly: true, attributes: { a: '1' } }), 'node-9', {}, { volume_id: 'vol-9', node_id: 'node-9', secrets: {} }],
    [
      'a migrated AWS EBS PV',
      { metadata: { name: 'pv' }, spec: { accessModes: ['ReadWriteOnce'], awsElasticBlockStore: { volumeID: 'vol-0abc' } } } as PersistentVolume,
      'i-1',
      {},
      { volume_id: 'vol-0abc', node_id: 'i-1', secrets: {} },
    ],
  ])('sends handle, node ID and secrets only (%s)', (_name, pv, nodeId, secrets, want) => {
    expect(unpublishRequestOf(csiVolumeOfPv(pv, t), nodeId, secrets)).toEqual(want);
  });
});
