import { afterEach, describe, expect, it } from '@jest/globals';
import * as shared from '@csi-sidecars-ts/shared';
import {
  CSI_NODES,
  CSI_STORAGE_CAPACITIES,
  CSI_STORAGE_CAPACITIES_V1BETA1,
  KubeApiError,
  NODES,
  STORAGE_CLASSES,
  createKubeClient,
  discardLogger,
  memoryLogger,
} from '@csi-sidecars-ts/shared';
import { FakeApiServer } from '@csi-sidecars-ts/shared/testing';
import type { CSIStorageCapacity, KubeClient, KubeRequester, ResourceDescriptor } from '@csi-sidecars-ts/shared';
import { DRIVER, TOPOLOGY_PLUGIN_CAPS, eventually, startHarness, storageClass, type Harness } from '../__fixtures__/harness.js';
import { INVALID_CAPACITY_NAME, detectCapacityApi } from './api-version.js';

const NS = 'csi-driver';

/** Every resource the fake apiserver knows, minus storage.k8s.io/v1 csistoragecapacities: an old cluster. */
const withoutV1Capacities: ResourceDescriptor[] = Object.values(shared).filter(
  (v): v is ResourceDescriptor => typeof v === 'object' && v !== null && 'plural' in v && 'namespaced' in v && v !== CSI_STORAGE_CAPACITIES,
);

let server: FakeApiServer | undefined;
let kube: KubeClient | undefined;
let h: Harness | undefined;
afterEach(async () => {
  kube?.dispose();
  await server?.close();
  await h?.close();
  server = kube = h = undefined;
});

async function serve(resources?: ResourceDescriptor[]): Promise<{ server: FakeApiServer; kube: KubeClient }> {
  server = await FakeApiServer.start(resources ? { resources } : {});
  kube = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  return { server, kube };
}

const probes = (s: FakeApiServer) => s.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/csistoragecapacities'));

/** A requester that answers every call with one API error (for answers the fake cannot give). */
function failing(code: number, body: unknown): KubeRequester {
  return { request: () => Promise.reject(KubeApiError.fromResponse(code, body)) };
}

describe('detectCapacityApi', () => {
  it('picks v1 when the server refuses the invalid name as Invalid', async () => {
    // The fake, like kube-apiserver, refuses a name with '%' in it as Invalid.
    const { server: s, kube: k } = await serve();
    const { logger, lines } = memoryLogger();
    expect(await detectCapacityApi(k, NS, logger)).toBe(CSI_STORAGE_CAPACITIES);
    expect(probes(s).map((r) => r.path)).toEqual([`/apis/storage.k8s.io/v1/namespaces/${NS}/csistoragecapacities`]);
    expect(JSON.parse(probes(s)[0]!.body)).toMatchObject({ apiVersion: 'storage.k8s.io/v1', kind: 'CSIStorageCapacity', metadata: { name: INVALID_CAPACITY_NAME, namespace: NS } });
    expect(lines.join('\n')).toContain('Using the CSIStorageCapacity v1 API');
    expect(s.list(CSI_STORAGE_CAPACITIES, NS)).toHaveLength(0);
  });

  it('picks v1beta1 when v1 is not served (NotFound)', async () => {
    const { server: s, kube: k } = await serve(withoutV1Capacities);
    const { logger, lines } = memoryLogger();
    expect(await detectCapacityApi(k, NS, logger)).toBe(CSI_STORAGE_CAPACITIES_V1BETA1);
    expect(probes(s)).toHaveLength(1);
    expect(lines.join('\n')).toContain('Using the CSIStorageCapacity v1beta1 API');
  });

  it('fails when the invalid object is created after all', async () => {
    const accepting: KubeRequester = { request: <T>() => Promise.resolve({ metadata: { name: INVALID_CAPACITY_NAME, namespace: NS } } as T) };
    await expect(detectCapacityApi(accepting, NS, discardLogger)).rejects.toThrow(/creating an invalid v1 CSIStorageCapacity .* did not fail as expected/);
  });

  it('fails on any other error, and on a missing namespace instead of guessing v1beta1', async () => {
    await expect(detectCapacityApi(failing(403, { kind: 'Status', reason: 'Forbidden', message: 'no create', code: 403 }), NS, discardLogger)).rejects.toThrow(
      /unexpected error when checking for the v1 CSIStorageCapacity API: no create/,
    );
    const noNamespace = { kind: 'Status', reason: 'NotFound', message: `namespaces "${NS}" not found`, code: 404, details: { name: NS, kind: 'namespaces' } };
    await expect(detectCapacityApi(failing(404, noNamespace), NS, discardLogger)).rejects.toThrow(`namespace "${NS}" (NAMESPACE) does not exist`);
  });
});

describe('capacity tracking on a cluster with only v1beta1', () => {
  it('reads, creates, updates and deletes storage.k8s.io/v1beta1 objects', async () => {
    let total = 100n * 1024n ** 3n;
    h = await startHarness({
      server: { resources: withoutV1Capacities },
      plugin: { pluginCapabilities: TOPOLOGY_PLUGIN_CAPS },
      options: { enableCapacity: true, namespace: NS, capacityOwnerrefLevel: -1, capacityPollIntervalMs: 200 },
      beforeStart: (s) => {
        s.create(NODES, { metadata: { name: 'node-1', labels: { zone: 'a' } } });
        s.create(CSI_NODES, { metadata: { name: 'node-1' }, spec: { drivers: [{ name: DRIVER, nodeID: 'node-1', topologyKeys: ['zone'] }] } });
        s.create(STORAGE_CLASSES, storageClass('late', { volumeBindingMode: 'WaitForFirstConsumer' }));
        // Left over from before (say, a provisioner with other classes): ours by label, so deleted.
        s.create(CSI_STORAGE_CAPACITIES_V1BETA1, {
          metadata: { name: 'stray', namespace: NS, labels: { 'csi.storage.k8s.io/drivername': DRIVER, 'csi.storage.k8s.io/managed-by': 'external-provisioner' } },
          storageClassName: 'gone',
          capacity: '1Gi',
        });
      },
    });
    const hh = h;
    hh.plugin.setHandler('GetCapacity', () => ({ available_capacity: total }));
    const objects = () => hh.server.list<CSIStorageCapacity>(CSI_STORAGE_CAPACITIES_V1BETA1, NS);
    await eventually(() => objects().length === 1 && objects()[0]!.storageClassName === 'late', 'one v1beta1 object for the class, the stray one gone');
    expect(objects()[0]).toMatchObject({ capacity: '100Gi', nodeTopology: { matchLabels: { zone: 'a' } } });
    total = 50n * 1024n ** 3n;
    await eventually(() => objects()[0]?.capacity === '50Gi', 'updated by the next poll');

    const v1beta1 = '/apis/storage.k8s.io/v1beta1/';
    const capacityCalls = hh.server.requests.filter((r) => r.path.includes('/csistoragecapacities'));
    // Only the detection probe went to v1; the informer and every write used v1beta1.
    expect(capacityCalls.filter((r) => !r.path.startsWith(v1beta1)).map((r) => r.method)).toEqual(['POST']);
    const used = new Set(capacityCalls.filter((r) => r.path.startsWith(v1beta1)).map((r) => (r.watch ? 'WATCH' : r.method)));
    expect([...used].sort()).toEqual(['DELETE', 'GET', 'POST', 'PUT', 'WATCH']);
    const created = capacityCalls.find((r) => r.method === 'POST' && r.path.startsWith(v1beta1))!;
    expect(JSON.parse(created.body)).toMatchObject({ apiVersion: 'storage.k8s.io/v1beta1', kind: 'CSIStorageCapacity' });
  });
});
