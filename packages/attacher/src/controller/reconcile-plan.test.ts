import { describe, expect, it } from '@jest/globals';
import type { VolumeAttachment } from '@csi-sidecars-ts/shared';
import { DRIVER, csiPv, va } from '../__fixtures__/objects.js';
import { createMigrationTranslator } from '@csi-sidecars-ts/shared';
import { resolveNodeId } from './node-id.js';
import { planReconcile } from './reconcile-plan.js';
import { csiVolumeOfInline, csiVolumeOfPv, pvNotFound, vaSourceOf } from './volume-source.js';

const t = createMigrationTranslator();
const pvs = new Map([
  ['pv-a', csiPv('pv-a', { handle: 'vol-a' })],
  ['pv-b', csiPv('pv-b', { handle: 'vol-b' })],
  ['pv-gce', { metadata: { name: 'pv-gce' }, spec: { accessModes: ['ReadWriteOnce'], gcePersistentDisk: { pdName: 'd1' } } }],
]);
const nodeIds: Record<string, string> = { 'node-1': 'id-1', 'node-2': 'id-2', 'gce-node': 'projects/p/zones/us-central1-a/instances/vm' };

function plan(vas: VolumeAttachment[], published: Record<string, string[]>, driver = DRIVER) {
  return planReconcile(vas, new Map(Object.entries(published)), {
    driver,
    translator: t,
    nodeIdOf: (v) => {
      const id = nodeIds[v.spec!.nodeName];
      return resolveNodeId(driver, v.spec!.nodeName, undefined, id ? { ...v, metadata: { annotations: { 'csi.alpha.kubernetes.io/node-id': id } } } : v);
    },
    volumeOf: (v) => {
      const s = vaSourceOf(v);
      if (s.kind === 'inline') return csiVolumeOfInline(s.spec);
      const pv = pvs.get(s.pvName);
      if (!pv) throw pvNotFound(s.pvName);
      return csiVolumeOfPv(pv, t);
    },
  });
}

describe('planReconcile', () => {
  it('flags an attached VA whose volume the driver no longer publishes on its node', () => {
    const p = plan([va('va-a', { pv: 'pv-a', attached: true, rv: '41' })], { 'vol-a': ['id-2'] });
    expect(p.mismatched).toStrictEqual([{ name: 'va-a', resourceVersion: '41', volumeHandle: 'vol-a', attached: true, published: false }]);
  });

  it('flags an unattached (or detached) VA whose volume the driver still publishes', () => {
    const p = plan([va('va-b', { pv: 'pv-b', attached: false, deleted: true })], { 'vol-b': ['id-1'] });
    expect(p.mismatched).toStrictEqual([{ name: 'va-b', resourceVersion: undefined, volumeHandle: 'vol-b', attached: false, published: true }]);
  });

  it('leaves VAs that agree with the driver, and other drivers VAs, alone', () => {
    const p = plan(
      [va('ok-1', { pv: 'pv-a', attached: true }), va('ok-2', { pv: 'pv-b', attached: false }), va('other', { pv: 'pv-a', attacher: 'other.driver', attached: false })],
      { 'vol-a': ['id-1'] },
    );
    expect(p.mismatched).toEqual([]);
    expect(p.skipped).toEqual([]);
  });

  it('skips VAs it cannot resolve', () => {
    const p = plan([va('no-pv', { pv: 'missing', attached: true }), va('no-node', { pv: 'pv-a', node: 'unknown-node', attached: true })], {});
    expect(p.skipped.map((s) => s.name)).toEqual(['no-pv', 'no-node']);
    expect(p.mismatched).toEqual([]);
  });

  it('repairs migrated handles before looking them up', () => {
    const p = plan([va('gce', { pv: 'pv-gce', node: 'gce-node', attached: true })], { 'projects/p/zones/us-central1-a/disks/d1': ['projects/p/zones/us-central1-a/instances/vm'] }, 'pd.csi.storage.gke.io');
    expect(p.mismatched).toEqual([]);
    expect(p.skipped).toEqual([]);
  });

  it('does not try to repair inline specs of drivers without a migration (Go would skip them)', () => {
    const p = plan([va('inline', { inline: csiPv('x', { handle: 'vol-i' }).spec!, attached: true })], { 'vol-i': ['id-1'] });
    expect(p.skipped).toEqual([]);
    expect(p.mismatched).toEqual([]);
  });
});
