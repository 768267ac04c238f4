// KubeResizerApi over HTTP against the fake apiserver: paths, content types, preconditions.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createKubeClient, isConflict, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, SECRETS } from '@csi-sidecars-ts/shared';
import { FakeApiServer } from '@csi-sidecars-ts/shared/testing';
import type { KubeClient, PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { boundPair } from '../testing/fakes.js';
import { KubeResizerApi } from './resizer-api.js';

let server: FakeApiServer;
let client: KubeClient;
let api: KubeResizerApi;

beforeAll(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  api = new KubeResizerApi(client);
});

afterAll(async () => {
  client.dispose();
  await server.close();
});

function create(name: string): { pvc: PersistentVolumeClaim; pv: PersistentVolume } {
  const pair = boundPair({ name, request: '2Gi', capacity: '1Gi' });
  delete pair.pvc.metadata!.resourceVersion;
  delete pair.pv.metadata!.resourceVersion;
  return {
    pvc: server.create(PERSISTENT_VOLUME_CLAIMS, pair.pvc),
    pv: server.create(PERSISTENT_VOLUMES, pair.pv),
  };
}

const setAllocated = (size: string) => (c: PersistentVolumeClaim): PersistentVolumeClaim => ({
  ...c,
  status: { ...c.status, allocatedResources: { storage: size } },
});

describe('KubeResizerApi', () => {
  it('patches PVC status through the subresource with a merge patch carrying the resourceVersion', async () => {
    const { pvc } = create('a');
    const out = await api.updateClaimStatus(pvc, setAllocated('2Gi'), { precondition: true });
    expect(out.status!.allocatedResources).toEqual({ storage: '2Gi' });
    const req = server.requests.at(-1)!;
    expect([req.method, req.path, req.headers['content-type']]).toEqual([
      'PATCH',
      '/api/v1/namespaces/ns/persistentvolumeclaims/a/status',
      'application/merge-patch+json',
    ]);
    expect(JSON.parse(req.body)).toEqual({ metadata: { resourceVersion: pvc.metadata!.resourceVersion }, status: { allocatedResources: { storage: '2Gi' } } });
  });

  it('with a precondition, a stale claim fails with a conflict naming the claim', async () => {
    const { pvc } = create('b');
    server.update(PERSISTENT_VOLUME_CLAIMS, { ...server.get(PERSISTENT_VOLUME_CLAIMS, 'b', 'ns')!, metadata: { ...pvc.metadata, labels: { x: 'y' } } });
    const err = await api.updateClaimStatus(pvc, setAllocated('2Gi'), { precondition: true }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/can't patch status of PVC ns\/b/);
    expect(isConflict((err as Error).cause)).toBe(true);
  });

  it('without a precondition, a conflict re-reads the claim and applies the change to the fresh copy', async () => {
    const { pvc } = create('c');
    server.update(PERSISTENT_VOLUME_CLAIMS, { ...server.get(PERSISTENT_VOLUME_CLAIMS, 'c', 'ns')!, metadata: { ...pvc.metadata, labels: { x: 'y' } } });
    const out = await api.updateClaimStatus(pvc, setAllocated('3Gi'), { precondition: false });
    expect(out.status!.allocatedResources).toEqual({ storage: '3Gi' });
    expect(out.metadata!.labels).toEqual({ x: 'y' });
    expect(server.requests.filter((r) => r.path.endsWith('/persistentvolumeclaims/c') && r.method === 'GET')).toHaveLength(1);
  });

  it('sends nothing when the change is empty', async () => {
    const { pvc } = create('d');
    const before = server.requests.length;
    expect(await api.updateClaimStatus(pvc, (c) => c, { precondition: true })).toBe(pvc);
    expect(server.requests.length).toBe(before);
  });

  it('patches PVs without a precondition', async () => {
    const { pv } = create('e');
    const next = structuredClone(pv);
    next.spec!.capacity = { storage: '2Gi' };
    const out = await api.patchVolume(pv, next);
    expect(out.spec!.capacity).toEqual({ storage: '2Gi' });
    const req = server.requests.at(-1)!;
    expect([req.path, req.headers['content-type']]).toEqual(['/api/v1/persistentvolumes/pv-e', 'application/merge-patch+json']);
    expect(JSON.parse(req.body)).toEqual({ spec: { capacity: { storage: '2Gi' } } });
  });

  it('reads Secrets with a direct GET', async () => {
    server.create(SECRETS, { metadata: { name: 's', namespace: 'kube-system' }, data: { k: 'dg==' } });
    expect((await api.getSecret('kube-system', 's')).data).toEqual({ k: 'dg==' });
  });
});
