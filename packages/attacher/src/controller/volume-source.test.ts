import { describe, expect, it } from '@jest/globals';
import { csiPv, va } from '../__fixtures__/objects.js';
import { createMigrationTranslator } from '@csi-sidecars-ts/shared';
import { VolumeSourceError, csiVolumeOfInline, csiVolumeOfPv, vaSourceOf } from './volume-source.js';

const t = createMigrationTranslator();

describe('vaSourceOf', () => {
  it('accepts a PV name or an inline CSI spec', () => {
    expect(vaSourceOf(va('a', { pv: 'pv-9' }))).toEqual({ kind: 'pv', pvName: 'pv-9' });
    const inline = csiPv('x').spec!;
    expect(vaSourceOf(va('a', { inline }))).toEqual({ kind: 'inline', spec: inline });
  });

  it('rejects both, neither, and an inline spec without CSI', () => {
    const both = va('a');
    both.spec!.source.inlineVolumeSpec = csiPv('x').spec!;
    expect(() => vaSourceOf(both)).toThrow('both InlineCSIVolumeSource and PersistentVolumeName specified in VA source');
    const neither = va('a');
    neither.spec!.source = {};
    expect(() => vaSourceOf(neither)).toThrow('neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source');
    expect(() => vaSourceOf(va('a', { inline: { accessModes: ['ReadWriteOnce'] } }))).toThrow(VolumeSourceError);
  });
});

describe('csiVolumeOfPv', () => {
  it('uses a CSI PV as it is', () => {
    const v = csiVolumeOfPv(csiPv('pv', { handle: 'h' }), t);
    expect(v.migrated).toBe(false);
    expect(v.csi.volumeHandle).toBe('h');
  });

  it('translates a migratable in-tree PV and marks it migrated', () => {
    const v = csiVolumeOfPv({ metadata: { name: 'p' }, spec: { accessModes: ['ReadWriteOnce'], awsElasticBlockStore: { volumeID: 'vol-1' } } }, t);
    expect(v.migrated).toBe(true);
    expect(v.csi).toMatchObject({ driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' });
  });

  it('refuses a non-CSI PV that cannot be migrated', () => {
    expect(() => csiVolumeOfPv({ metadata: { name: 'p' }, spec: { hostPath: { path: '/x' } } }, t)).toThrow('pv spec contained non-csi source that was not migrated');
    expect(() => csiVolumeOfPv({ metadata: { name: 'p' }, spec: { awsElasticBlockStore: { volumeID: 'aws://z/bad' } } }, t)).toThrow(/failed to translate in tree pv to CSI/);
  });

  it('uses an inline spec as it is', () => {
    expect(csiVolumeOfInline(csiPv('x', { handle: 'inline-h' }).spec!)).toMatchObject({ migrated: false, csi: { volumeHandle: 'inline-h' } });
  });
});
