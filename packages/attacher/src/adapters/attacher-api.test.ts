import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { KubeClient, PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { PERSISTENT_VOLUMES, SECRETS, VOLUME_ATTACHMENTS, createKubeClient } from '@csi-sidecars-ts/shared';
import { FakeApiServer } from '@csi-sidecars-ts/shared/testing';
import { FINALIZER, PV_PROTECTION, csiPv, va } from '../__fixtures__/objects.js';
import { KubeAttacherApi } from './attacher-api.js';

let server: FakeApiServer;
let client: KubeClient;
let api: KubeAttacherApi;

beforeAll(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  api = new KubeAttacherApi(client);
});

afterAll(async () => {
  client.dispose();
  await server.close();
});

let seq = 0;
beforeEach(() => {
  seq++;
  server.requests.length = 0;
});

const patches = () => server.requests.filter((r) => r.method === 'PATCH');

describe('PV finalizer', () => {
  it('adds the finalizer with a conditional JSON patch', async () => {
    const stored = server.create(PERSISTENT_VOLUMES, csiPv(`pv-add-${seq}`));
    const out = await api.addPvFinalizer(stored, FINALIZER);
    expect(out.metadata?.finalizers).toEqual([PV_PROTECTION, FINALIZER]);
    const [req] = patches();
    expect(req?.headers['content-type']).toContain('application/json-patch+json');
    expect(JSON.parse(req!.body)).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: [PV_PROTECTION] },
      { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER },
    ]);
  });

  it('writes nothing when the finalizer is already there', async () => {
    const stored = server.create(PERSISTENT_VOLUMES, csiPv(`pv-has-${seq}`, { finalizers: [FINALIZER] }));
    await api.addPvFinalizer(stored, FINALIZER);
    expect(patches()).toHaveLength(0);
  });

  it('re-reads and retries when the cached finalizer list is stale, never resurrecting a removed finalizer', async () => {
    const name = `pv-stale-${seq}`;
    const cached = server.create(PERSISTENT_VOLUMES, csiPv(name, { finalizers: [PV_PROTECTION, 'example.com/other'] }));
    // Another controller removes its finalizer after we cached the PV.
    server.update(PERSISTENT_VOLUMES, { ...cached, metadata: { ...cached.metadata, finalizers: [PV_PROTECTION] } });
    const out = await api.addPvFinalizer(cached, FINALIZER);
    expect(out.metadata?.finalizers).toEqual([PV_PROTECTION, FINALIZER]);
    expect(server.get<PersistentVolume>(PERSISTENT_VOLUMES, name)?.metadata?.finalizers).toEqual([PV_PROTECTION, FINALIZER]);
    expect(patches()).toHaveLength(2);
  });

  it('stops with a clear error when the PV got deleted meanwhile', async () => {
    const name = `pv-deleting-${seq}`;
    const cached = server.create(PERSISTENT_VOLUMES, csiPv(name));
    server.remove(PERSISTENT_VOLUMES, name);
    // What kube-apiserver answers (the fake does not enforce this rule by itself).
    server.failNext({ method: 'PATCH', path: name }, { code: 422, reason: 'Invalid', message: 'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted' });
    await expect(api.addPvFinalizer(cached, FINALIZER)).rejects.toThrow(`PersistentVolume "${name}" is marked for deletion`);
    expect(server.get<PersistentVolume>(PERSISTENT_VOLUMES, name)?.metadata?.finalizers).toEqual([PV_PROTECTION]);
  });

  it('removes the finalizer at its index, re-reading when the list moved', async () => {
    const name = `pv-rm-${seq}`;
    const cached = server.create(PERSISTENT_VOLUMES, csiPv(name, { finalizers: ['a', FINALIZER, 'b'] }));
    server.update(PERSISTENT_VOLUMES, { ...cached, metadata: { ...cached.metadata, finalizers: [FINALIZER, 'b'] } });
    await api.removePvFinalizer(cached, FINALIZER);
    expect(server.get<PersistentVolume>(PERSISTENT_VOLUMES, name)?.metadata?.finalizers).toEqual(['b']);
  });

  it('treats a PV that is already gone as done', async () => {
    await expect(api.removePvFinalizer(csiPv(`pv-gone-${seq}`, { finalizers: [FINALIZER] }), FINALIZER)).resolves.toBeUndefined();
  });
});

describe('VolumeAttachment writes', () => {
  it('adds finalizer and node-id annotation in one merge patch carrying the resourceVersion', async () => {
    const stored = server.create(VOLUME_ATTACHMENTS, va(`va-meta-${seq}`));
    const out = await api.ensureVaAttachMetadata(stored, FINALIZER, 'node-id-1');
    expect(out.metadata?.finalizers).toEqual([FINALIZER]);
    expect(out.metadata?.annotations).toEqual({ 'csi.alpha.kubernetes.io/node-id': 'node-id-1' });
    const [req] = patches();
    expect(req?.headers['content-type']).toContain('application/merge-patch+json');
    expect(JSON.parse(req!.body).metadata.resourceVersion).toBe(stored.metadata?.resourceVersion);
  });

  it('retries against a fresh read after a 409', async () => {
    const name = `va-conflict-${seq}`;
    const stale = server.create(VOLUME_ATTACHMENTS, va(name));
    server.update(VOLUME_ATTACHMENTS, { ...stale, metadata: { ...stale.metadata, labels: { changed: 'yes' } } });
    const out = await api.ensureVaAttachMetadata(stale, FINALIZER, 'n');
    expect(out.metadata?.labels).toEqual({ changed: 'yes' });
    expect(out.metadata?.finalizers).toEqual([FINALIZER]);
  });

  it('does not add the finalizer to a VA that got deleted meanwhile', async () => {
    const name = `va-deleting-${seq}`;
    const cached = server.create(VOLUME_ATTACHMENTS, va(name, { finalizers: ['example.com/hold'] }));
    server.remove(VOLUME_ATTACHMENTS, name);
    await expect(api.ensureVaAttachMetadata(cached, FINALIZER, 'n')).rejects.toThrow(`VolumeAttachment "${name}" is being deleted`);
    expect(server.get<VolumeAttachment>(VOLUME_ATTACHMENTS, name)?.metadata?.finalizers).toEqual(['example.com/hold']);
  });

  it('gives up after a few lost races and reports the conflict', async () => {
    const name = `va-busy-${seq}`;
    const stored = server.create(VOLUME_ATTACHMENTS, va(name));
    server.failNext({ method: 'PATCH', path: name }, { code: 409, reason: 'Conflict', message: 'busy' }, 5);
    await expect(api.ensureVaAttachMetadata(stored, FINALIZER, 'n')).rejects.toThrow(/busy/);
    expect(patches()).toHaveLength(3);
  });

  it('patches status through the status subresource', async () => {
    const name = `va-status-${seq}`;
    server.create(VOLUME_ATTACHMENTS, { ...va(name), status: { attached: false } });
    await api.patchVaStatus(name, { status: { attached: true, attachmentMetadata: { a: 'b' } } });
    expect(patches()[0]?.path).toBe(`/apis/storage.k8s.io/v1/volumeattachments/${name}/status`);
    expect(server.get<VolumeAttachment>(VOLUME_ATTACHMENTS, name)?.status).toEqual({ attached: true, attachmentMetadata: { a: 'b' } });
  });

  it('removes the VA finalizer; the VA disappears when it was the last one', async () => {
    const name = `va-fin-${seq}`;
    server.create(VOLUME_ATTACHMENTS, va(name, { finalizers: [FINALIZER] }));
    server.remove(VOLUME_ATTACHMENTS, name);
    const deleting = server.get<VolumeAttachment>(VOLUME_ATTACHMENTS, name)!;
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    await api.removeVaFinalizer(deleting, FINALIZER);
    expect(server.get(VOLUME_ATTACHMENTS, name)).toBeUndefined();
    await expect(api.removeVaFinalizer(deleting, FINALIZER)).resolves.toBeUndefined();
  });
});

describe('Secrets', () => {
  it('decodes the data of a Secret', async () => {
    server.create(SECRETS, {
      metadata: { name: `s-${seq}`, namespace: 'ns' },
      data: { user: Buffer.from('admin').toString('base64'), pass: Buffer.from('p@ss wörd').toString('base64') },
    });
    await expect(api.getSecretData('ns', `s-${seq}`)).resolves.toEqual({ user: 'admin', pass: 'p@ss wörd' });
  });
});
