import { describe, expect, it } from '@jest/globals';
import type { VolumeAttachment } from '@csi-sidecars-ts/shared';
import { DRIVER, FINALIZER, csiPv, va } from '../__fixtures__/objects.js';
import { createMigrationTranslator } from '@csi-sidecars-ts/shared';
import { isMigrationRollback, shouldEnqueuePv, shouldEnqueueVaUpdate } from './event-filters.js';

const err = (message: string, time = '2024-01-01T00:00:01Z') => ({ message, time });

function withStatus(base: VolumeAttachment, rv: string, status: VolumeAttachment['status'], extra: Partial<NonNullable<VolumeAttachment['metadata']>> = {}): VolumeAttachment {
  return { ...base, metadata: { ...base.metadata, resourceVersion: rv, ...extra }, ...(status ? { status } : {}) };
}

describe('shouldEnqueueVaUpdate', () => {
  const base = va('va-1');
  const cases: [string, VolumeAttachment, VolumeAttachment, boolean][] = [
    ['a resync (same resourceVersion) is queued even with errors', withStatus(base, '5', { attached: false, attachError: err('x') }), withStatus(base, '5', { attached: false, attachError: err('x') }), true],
    ['a change without any errors is queued', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: true }), true],
    ['our own attachError write is not queued', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: false, attachError: err('boom') }), false],
    ['a changed attachError (next failure) is not queued', withStatus(base, '5', { attached: false, attachError: err('a') }), withStatus(base, '6', { attached: false, attachError: err('b', '2024-01-01T00:00:09Z') }), false],
    ['our own detachError write is not queued', withStatus(base, '5', { attached: true }), withStatus(base, '6', { attached: true, detachError: err('boom') }), false],
    ['an error write on a VA without status is not queued', withStatus(base, '5', undefined), withStatus(base, '6', { attached: false, attachError: err('boom') }), false],
    ['an error write plus a managedFields change is not queued', withStatus(base, '5', { attached: false }, { managedFields: [{ manager: 'a' }] }), withStatus(base, '6', { attached: false, attachError: err('boom') }, { managedFields: [{ manager: 'b' }] }), false],
    ['an error write together with a deletion is queued', withStatus(base, '5', { attached: true }), withStatus(base, '6', { attached: true, detachError: err('x') }, { deletionTimestamp: '2024-01-02T00:00:00Z' }), true],
    ['clearing the error together with attached=true is queued', withStatus(base, '5', { attached: false, attachError: err('x') }), withStatus(base, '6', { attached: true }), true],
    ['an error write plus a new annotation is queued', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: false, attachError: err('x') }, { annotations: { a: 'b' } }), true],
  ];
  it.each(cases)('%s', (_title, oldVa, newVa, want) => {
    expect(shouldEnqueueVaUpdate(oldVa, newVa)).toBe(want);
    expect(shouldEnqueueVaUpdate(oldVa, newVa, FINALIZER)).toBe(want);
  });

  const ann = { 'csi.alpha.kubernetes.io/node-id': 'id-1' };
  const own: [string, VolumeAttachment, VolumeAttachment, boolean][] = [
    ['our finalizer and node-id annotation (our attach in progress)', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: false }, { finalizers: [FINALIZER], annotations: ann }), false],
    ['our finalizer removed (our detach finished)', withStatus(base, '5', { attached: true }, { finalizers: ['x', FINALIZER] }), withStatus(base, '6', { attached: true }, { finalizers: ['x'] }), false],
    ['another controller\'s finalizer', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: false }, { finalizers: ['example.com/other'] }), true],
    ['another annotation next to ours', withStatus(base, '5', { attached: false }, { annotations: ann }), withStatus(base, '6', { attached: false }, { annotations: { ...ann, x: 'y' } }), true],
    ['our finalizer together with attached=true', withStatus(base, '5', { attached: false }), withStatus(base, '6', { attached: true }, { finalizers: [FINALIZER] }), true],
  ];
  it.each(own)('with our finalizer known: %s', (_title, oldVa, newVa, want) => {
    expect(shouldEnqueueVaUpdate(oldVa, newVa, FINALIZER)).toBe(want);
  });

  it('without our finalizer known, metadata writes are queued as in Go', () => {
    expect(shouldEnqueueVaUpdate(own[0]![1], own[0]![2])).toBe(true);
  });
});

describe('shouldEnqueuePv', () => {
  const t = createMigrationTranslator();
  const ebs = (annotations: Record<string, string> | undefined, deleted = false) => ({
    metadata: { name: 'pv-ebs', finalizers: [FINALIZER], ...(annotations ? { annotations } : {}), ...(deleted ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { awsElasticBlockStore: { volumeID: 'vol-1' } },
  });

  it('queues a PV with our finalizer that is being deleted', () => {
    expect(shouldEnqueuePv(csiPv('pv', { finalizers: [FINALIZER], deleted: true }), DRIVER, t)).toBe(true);
  });
  it('ignores a PV with our finalizer that is not being deleted', () => {
    expect(shouldEnqueuePv(csiPv('pv', { finalizers: [FINALIZER] }), DRIVER, t)).toBe(false);
  });
  it('ignores a deleted PV without our finalizer', () => {
    expect(shouldEnqueuePv(csiPv('pv', { finalizers: ['other'], deleted: true }), DRIVER, t)).toBe(false);
    expect(shouldEnqueuePv(csiPv('pv', { finalizers: ['external-attacher/other-driver'], deleted: true }), DRIVER, t)).toBe(false);
  });
  it('queues an in-tree PV no longer migrated to us (migration rollback)', () => {
    expect(shouldEnqueuePv(ebs(undefined), DRIVER, t)).toBe(true);
    expect(shouldEnqueuePv(ebs({ 'pv.kubernetes.io/migrated-to': 'other.driver' }), DRIVER, t)).toBe(true);
    expect(isMigrationRollback(ebs(undefined), DRIVER, t)).toBe(true);
  });
  it('ignores an in-tree PV still migrated to us', () => {
    expect(shouldEnqueuePv(ebs({ 'pv.kubernetes.io/migrated-to': DRIVER }), DRIVER, t)).toBe(false);
    expect(isMigrationRollback(ebs({ 'pv.kubernetes.io/migrated-to': DRIVER }), DRIVER, t)).toBe(false);
    expect(shouldEnqueuePv(ebs({ 'pv.kubernetes.io/migrated-to': DRIVER }, true), DRIVER, t)).toBe(true);
  });
});
