import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createKubeClient } from './client.js';
import type { KubeClient } from './client.js';
import { createObject, deleteObject, getObject, modifyObject, patchObject, updateObject, updateStatus } from './crud.js';
import { isConflict, isInvalid, isNotFound } from './errors.js';
import type { KubeObject } from './object.js';
import { createMergePatch, JsonPatchBuilder } from './patch.js';
import { PERSISTENT_VOLUME_CLAIMS, VOLUME_ATTACHMENTS } from './resources.js';
import { FakeApiServer } from './testing/fake-apiserver.js';

interface VA extends KubeObject {
  spec: { attacher: string; nodeName: string; source: { persistentVolumeName: string } };
  status?: { attached: boolean; attachmentMetadata?: Record<string, string> };
}

let server: FakeApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
});

afterAll(async () => {
  client.dispose();
  await server.close();
});

const va = (name: string): VA => ({
  metadata: { name },
  spec: { attacher: 'hostpath.csi.k8s.io', nodeName: 'node-1', source: { persistentVolumeName: `pv-${name}` } },
});

describe('object calls by resource descriptor', () => {
  it('updates status through the subresource, conditional on resourceVersion', async () => {
    const created = await createObject(client, VOLUME_ATTACHMENTS, va('va1'));
    const withStatus = { ...created, status: { attached: true } };
    const updated = await updateStatus(client, VOLUME_ATTACHMENTS, withStatus);
    expect(updated.status).toEqual({ attached: true });
    const last = server.requests.at(-1)!;
    expect([last.method, last.path]).toEqual(['PUT', '/apis/storage.k8s.io/v1/volumeattachments/va1/status']);
    // The old resourceVersion is stale now: 409.
    const err = await updateStatus(client, VOLUME_ATTACHMENTS, { ...created, status: { attached: false } }).catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(() => updateObject(client, VOLUME_ATTACHMENTS, va('no-rv'))).toThrow(/resourceVersion/);
  });

  it('patches the status subresource with a merge patch computed from old and new', async () => {
    const old = await createObject(client, VOLUME_ATTACHMENTS, { ...va('va2'), status: { attached: false } });
    const next: VA = { ...old, status: { attached: true, attachmentMetadata: { lun: '1' } } };
    const patch = createMergePatch(old, next);
    expect(patch).toEqual({ status: { attached: true, attachmentMetadata: { lun: '1' } } });
    const out = await patchObject<VA>(client, VOLUME_ATTACHMENTS, 'va2', undefined, patch, 'merge', { subresource: 'status' });
    expect(out.status?.attachmentMetadata).toEqual({ lun: '1' });
    const last = server.requests.at(-1)!;
    expect(last.headers['content-type']).toBe('application/merge-patch+json');
    expect(last.path).toBe('/apis/storage.k8s.io/v1/volumeattachments/va2/status');
  });

  it('a merge patch carrying an old resourceVersion is refused with 409', async () => {
    const old = await createObject(client, VOLUME_ATTACHMENTS, va('va3'));
    await patchObject(client, VOLUME_ATTACHMENTS, 'va3', undefined, { metadata: { labels: { a: 'b' } } }, 'merge');
    const stale = createMergePatch(old, { ...old, metadata: { ...old.metadata, labels: { c: 'd' } } }, { withResourceVersion: true });
    const err = await patchObject(client, VOLUME_ATTACHMENTS, 'va3', undefined, stale, 'merge').catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
  });

  it('a JSON patch with a failing test op is refused with 422', async () => {
    const cur: VA = await createObject<VA>(client, VOLUME_ATTACHMENTS, { ...va('va4'), metadata: { name: 'va4', finalizers: ['external-attacher/x'] } });
    const ops = new JsonPatchBuilder().test(['metadata', 'resourceVersion'], 'stale').remove(['metadata', 'finalizers', 0]).build();
    const err = await patchObject(client, VOLUME_ATTACHMENTS, 'va4', undefined, ops, 'json').catch((e: unknown) => e);
    expect(isInvalid(err)).toBe(true);
    const good = new JsonPatchBuilder().test(['metadata', 'resourceVersion'], cur.metadata!.resourceVersion).remove(['metadata', 'finalizers', 0]).build();
    const out = await patchObject<VA>(client, VOLUME_ATTACHMENTS, 'va4', undefined, good, 'json');
    expect(out.metadata?.finalizers ?? []).toEqual([]);
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/json-patch+json');
  });

  it('modifyObject re-reads and retries when another writer wins the race', async () => {
    await createObject(client, PERSISTENT_VOLUME_CLAIMS, { metadata: { name: 'c1', namespace: 'ns' }, spec: {} });
    let calls = 0;
    const out = await modifyObject<KubeObject & { metadata: { annotations?: Record<string, string> } }>(
      client,
      PERSISTENT_VOLUME_CLAIMS,
      'c1',
      'ns',
      (cur) => {
        calls++;
        // The first time, someone else writes between our read and our write.
        if (calls === 1) server.update(PERSISTENT_VOLUME_CLAIMS, { ...server.get(PERSISTENT_VOLUME_CLAIMS, 'c1', 'ns')!, metadata: { ...server.get(PERSISTENT_VOLUME_CLAIMS, 'c1', 'ns')!.metadata, labels: { other: 'writer' } } });
        cur.metadata.annotations = { mine: 'yes' };
        return cur;
      },
    );
    expect(calls).toBe(2);
    expect(out.metadata.annotations).toEqual({ mine: 'yes' });
    expect(server.get(PERSISTENT_VOLUME_CLAIMS, 'c1', 'ns')!.metadata?.labels).toEqual({ other: 'writer' });
  });

  it('delete honours finalizers and uid preconditions', async () => {
    const cur: VA = await createObject<VA>(client, VOLUME_ATTACHMENTS, { ...va('va5'), metadata: { name: 'va5', finalizers: ['f'] } });
    const bad = await deleteObject(client, VOLUME_ATTACHMENTS, 'va5', undefined, { preconditions: { uid: 'other' } }).catch((e: unknown) => e);
    expect(isConflict(bad)).toBe(true);
    await deleteObject(client, VOLUME_ATTACHMENTS, 'va5', undefined, { preconditions: { uid: cur.metadata!.uid } });
    const marked = await getObject<VA>(client, VOLUME_ATTACHMENTS, 'va5');
    expect(marked.metadata?.deletionTimestamp).toBeDefined();
    await patchObject(client, VOLUME_ATTACHMENTS, 'va5', undefined, { metadata: { finalizers: null } }, 'merge');
    expect(isNotFound(await getObject(client, VOLUME_ATTACHMENTS, 'va5').catch((e: unknown) => e))).toBe(true);
  });
});
