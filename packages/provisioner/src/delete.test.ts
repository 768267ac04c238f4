import { afterEach, describe, expect, it } from '@jest/globals';
import { GrpcCode, PERSISTENT_VOLUMES, SECRETS, STORAGE_CLASSES, VOLUME_ATTACHMENTS } from '@csi-sidecars-ts/shared';
import type { PersistentVolume } from '@csi-sidecars-ts/shared';
import { DRIVER, eventually, eventuallyAsync, startHarness, storageClass, type Harness } from './__fixtures__/harness.js';

const FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function pv(name: string, volumeHandle: string, o: { phase?: string; policy?: string; finalizers?: string[]; annotations?: Record<string, string>; sc?: string } = {}): PersistentVolume {
  return {
    metadata: {
      name,
      finalizers: o.finalizers,
      annotations: {
        'pv.kubernetes.io/provisioned-by': DRIVER,
        'volume.kubernetes.io/provisioner-deletion-secret-name': '',
        'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
        ...o.annotations,
      },
    },
    spec: {
      csi: { driver: DRIVER, volumeHandle },
      persistentVolumeReclaimPolicy: o.policy ?? 'Delete',
      storageClassName: o.sc ?? 'fast',
      claimRef: { name: 'c', namespace: 'ns', uid: 'u' },
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
    },
    status: { phase: o.phase ?? 'Bound' },
  };
}

const get = (hh: Harness, name: string) => hh.server.get<PersistentVolume>(PERSISTENT_VOLUMES, name);

describe('deletion', () => {
  it('deletes the backend volume of a released PV, then the PV', async () => {
    h = await startHarness();
    const hh = h;
    const vol = hh.plugin.store.seed({ name: 'pvc-1' });
    hh.server.create(PERSISTENT_VOLUMES, pv('pvc-1', vol.volumeId, { phase: 'Released', finalizers: [FINALIZER] }));
    await eventually(() => get(hh, 'pvc-1') === undefined, 'PV gone');
    expect(hh.plugin.store.size).toBe(0);
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(1);
    expect(hh.plugin.callsTo('DeleteVolume')[0]!.request.volume_id).toBe(vol.volumeId);
    await eventuallyAsync(async () => /controller_persistentvolume_delete_total\{class="fast"\} 1/.test(await hh.registry.metrics()), 'delete metric');
  });

  it('deletes a released PV with two API writes and no read: the finalizer patch from the cached PV, then DELETE (uid precondition)', async () => {
    h = await startHarness();
    const hh = h;
    const vols = [1, 2, 3].map((n) => hh.plugin.store.seed({ name: `pvc-r${n}` }));
    const before = hh.server.requests.length;
    // pv-protection stands for kube-controller-manager's finalizer, which goes away on its own.
    vols.forEach((v, n) => hh.server.create(PERSISTENT_VOLUMES, pv(`pvc-r${n + 1}`, v.volumeId, { phase: 'Released', finalizers: [FINALIZER, 'kubernetes.io/pv-protection'] })));
    await eventually(() => [1, 2, 3].every((n) => !!get(hh, `pvc-r${n}`)?.metadata?.deletionTimestamp), 'PVs deleted');
    for (const n of [1, 2, 3]) {
      const cur = get(hh, `pvc-r${n}`)!;
      expect(cur.metadata?.deletionTimestamp).toBeTruthy();
      expect(cur.metadata?.finalizers).toEqual(['kubernetes.io/pv-protection']);
    }
    await new Promise((r) => setTimeout(r, 100));
    const calls = hh.server.requests.slice(before).filter((r) => !r.watch && r.path.includes('/persistentvolumes'));
    const count = (method: string) => calls.filter((r) => r.method === method).length;
    expect(count('DELETE')).toBe(3);
    expect(count('PATCH')).toBe(3);
    expect(count('GET')).toBe(0);
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(3);
  });

  it('takes the finalizer off a fresh read when it moved since the cached version', async () => {
    h = await startHarness();
    const hh = h;
    const vol = hh.plugin.store.seed({ name: 'pvc-m' });
    hh.server.create(PERSISTENT_VOLUMES, pv('pvc-m', vol.volumeId, { phase: 'Released', finalizers: ['kubernetes.io/pv-protection', FINALIZER] }));
    // The JSON patch's test op fails once (as when another finalizer went away first).
    hh.server.failNext({ method: 'PATCH', path: /\/persistentvolumes\/pvc-m$/ }, { code: 422, reason: 'Invalid', message: 'the server rejected our request: testing value /metadata/finalizers/1 failed' });
    await eventually(() => !(get(hh, 'pvc-m')?.metadata?.finalizers ?? []).includes(FINALIZER), 'finalizer removed');
    expect(hh.server.requests.some((r) => r.method === 'GET' && !r.watch && r.path.endsWith('/persistentvolumes/pvc-m'))).toBe(true);
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(1);
  });

  it('keeps the finalizer in step with the reclaim policy and leaves bound volumes alone', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(PERSISTENT_VOLUMES, pv('bound', 'v1'));
    hh.server.create(PERSISTENT_VOLUMES, pv('retain', 'v2', { policy: 'Retain', finalizers: [FINALIZER, 'other'] }));
    hh.server.create(PERSISTENT_VOLUMES, pv('released-retain', 'v3', { policy: 'Retain', phase: 'Released' }));
    hh.server.create(PERSISTENT_VOLUMES, { ...pv('foreign', 'v4'), metadata: { name: 'foreign', annotations: { 'pv.kubernetes.io/provisioned-by': 'other' } } });
    await eventually(() => (get(hh, 'bound')?.metadata?.finalizers ?? []).includes(FINALIZER), 'finalizer added');
    await eventually(() => JSON.stringify(get(hh, 'retain')?.metadata?.finalizers) === '["other"]', 'finalizer removed');
    expect(get(hh, 'foreign')?.metadata?.finalizers).toBeUndefined();
    expect(get(hh, 'released-retain')).toBeDefined();
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(0);
  });

  it('waits for a user-deleted bound PV to be released, then deletes the volume', async () => {
    h = await startHarness();
    const hh = h;
    const vol = hh.plugin.store.seed({ name: 'pvc-2' });
    hh.server.create(PERSISTENT_VOLUMES, pv('pvc-2', vol.volumeId, { finalizers: [FINALIZER, 'kubernetes.io/pv-protection'] }));
    hh.server.remove(PERSISTENT_VOLUMES, 'pvc-2');
    await new Promise((r) => setTimeout(r, 100));
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(0);
    const cur = get(hh, 'pvc-2')!;
    hh.server.update(PERSISTENT_VOLUMES, { ...cur, metadata: { ...cur.metadata, finalizers: [FINALIZER] }, status: { phase: 'Released' } });
    await eventually(() => get(hh, 'pvc-2') === undefined, 'PV gone');
    expect(hh.plugin.store.size).toBe(0);
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(1);
  });

  it('reports a failed DeleteVolume on the PV and retries it', async () => {
    h = await startHarness();
    const hh = h;
    const vol = hh.plugin.store.seed({ name: 'pvc-3' });
    hh.plugin.fail('DeleteVolume', GrpcCode.Internal, 'backend offline', 2);
    hh.server.create(PERSISTENT_VOLUMES, pv('pvc-3', vol.volumeId, { phase: 'Released', finalizers: [FINALIZER] }));
    await eventually(() => get(hh, 'pvc-3') === undefined, 'PV gone after retries');
    const failures = hh.recorder.for('pvc-3').filter((e) => e.reason === 'VolumeFailedDelete');
    expect(failures.length).toBe(2);
    expect(failures[0]).toMatchObject({ type: 'Warning', message: 'rpc error: code = Internal desc = backend offline' });
  });

  it('sends the deletion secret named in the annotations', async () => {
    h = await startHarness();
    const hh = h;
    hh.server.create(SECRETS, { metadata: { name: 's', namespace: 'kube-system' }, data: { token: Buffer.from('t0k').toString('base64') } });
    const vol = hh.plugin.store.seed({ name: 'pvc-4' });
    hh.server.create(
      PERSISTENT_VOLUMES,
      pv('pvc-4', vol.volumeId, {
        phase: 'Released',
        finalizers: [FINALIZER],
        annotations: { 'volume.kubernetes.io/provisioner-deletion-secret-name': 's', 'volume.kubernetes.io/provisioner-deletion-secret-namespace': 'kube-system' },
      }),
    );
    await eventually(() => hh.plugin.callsTo('DeleteVolume').length === 1, 'DeleteVolume');
    expect(hh.plugin.callsTo('DeleteVolume')[0]!.request.secrets).toEqual({ token: 't0k' });
  });

  it('falls back to the StorageClass secret template for PVs without the annotations', async () => {
    // The StorageClass is in the cache before the PV shows up.
    h = await startHarness({
      beforeStart: (server) =>
        server.create(
          STORAGE_CLASSES,
          storageClass('fast', { parameters: { 'csi.storage.k8s.io/provisioner-secret-name': '${pvc.name}-x', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' } }),
        ),
    });
    const hh = h;
    hh.server.create(SECRETS, { metadata: { name: 'c-x', namespace: 'ns' }, data: { k: Buffer.from('v').toString('base64') } });
    const vol = hh.plugin.store.seed({ name: 'pvc-5' });
    const p = pv('pvc-5', vol.volumeId, { phase: 'Released', finalizers: [FINALIZER] });
    p.metadata!.annotations = { 'pv.kubernetes.io/provisioned-by': DRIVER };
    hh.server.create(PERSISTENT_VOLUMES, p);
    await eventually(() => hh.plugin.callsTo('DeleteVolume').length === 1, 'DeleteVolume');
    expect(hh.plugin.callsTo('DeleteVolume')[0]!.request.secrets).toEqual({ k: 'v' });
  });

  it('refuses to delete a volume that is still attached', async () => {
    h = await startHarness({
      plugin: { controllerCapabilities: ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME'] },
      beforeStart: (server) =>
        server.create(VOLUME_ATTACHMENTS, { metadata: { name: 'va-1' }, spec: { attacher: DRIVER, nodeName: 'node-1', source: { persistentVolumeName: 'pvc-6' } } }),
    });
    const hh = h;
    const vol = hh.plugin.store.seed({ name: 'pvc-6' });
    hh.server.create(PERSISTENT_VOLUMES, pv('pvc-6', vol.volumeId, { phase: 'Released', finalizers: [FINALIZER] }));
    await eventually(() => hh.recorder.reasons('pvc-6').includes('VolumeFailedDelete'), 'failure event');
    expect(hh.recorder.for('pvc-6')[0]!.message).toBe('persistentvolume pvc-6 is still attached to node node-1');
    expect(hh.plugin.callsTo('DeleteVolume')).toHaveLength(0);
    hh.server.remove(VOLUME_ATTACHMENTS, 'va-1');
    await eventually(() => get(hh, 'pvc-6') === undefined, 'deleted after detach');
  });
});
