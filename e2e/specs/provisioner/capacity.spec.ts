// csi-provisioner's storage capacity tracking (--enable-capacity) against the real control plane:
// a private instance of the real Kubernetes e2e CSI mock plugin under its own driver name (its
// CSIDriver has storageCapacity: true, so the real kube-scheduler consults our objects), the
// sidecar running "in" a pod owned by a ReplicaSet (objects the spec creates; no kubelet or
// ReplicaSet controller runs) so the objects get that owner and kube-controller-manager's garbage
// collector removes them with it.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, type V1CSIStorageCapacity } from '@kubernetes/client-node';
import { CsiConnection, parseQuantity } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { TOPOLOGY_KEY, TOPOLOGY_VALUE } from '../../src/harness/control-plane.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ANN_SELECTED_NODE, ProvisionerKit, sleep } from './support.js';

const NS = 'e2e-prov-capacity';
const DRIVER = 'e2e-prov-capacity.csi.test';
const SC_WFFC = 'e2e-prov-cap-wffc';
const SC_IMMEDIATE = 'e2e-prov-cap-immediate';
const SC_LATER = 'e2e-prov-cap-later';
const PARAMETERS = { pool: 'gold' };
const OWNER = 'csi-provisioner-7d9f8';
const POD = `${OWNER}-x2k4q`;

const kit = new ProvisionerKit(NS);
const apps = kit.kube.kc.makeApiClient(AppsV1Api);
let plugin: ExtraPlugin | undefined;
let csi: CsiConnection | undefined;
let provisioner: ManagedProcess | undefined;
let metricsPort = 0;
let ownerUid = '';

async function capacities(): Promise<V1CSIStorageCapacity[]> {
  const list = await kit.kube.storage.listNamespacedCSIStorageCapacity({ namespace: NS, labelSelector: `csi.storage.k8s.io/drivername=${DRIVER}` });
  return list.items;
}

const forClass = async (sc: string) => (await capacities()).filter((c) => c.storageClassName === sc);

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  // The sidecar's pod and its controller, as a Deployment would have made them.
  const rs = await apps.createNamespacedReplicaSet({
    namespace: NS,
    body: {
      metadata: { name: OWNER },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'csi-provisioner' } },
        template: { metadata: { labels: { app: 'csi-provisioner' } }, spec: { containers: [{ name: 'csi-provisioner', image: 'none' }] } },
      },
    },
  });
  ownerUid = rs.metadata!.uid!;
  await kit.kube.core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: {
        name: POD,
        labels: { app: 'csi-provisioner' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: OWNER, uid: ownerUid, controller: true }],
      },
      spec: { nodeName: info.nodeNames[0]!, containers: [{ name: 'csi-provisioner', image: 'none' }] },
    },
  });
  await kit.storageClass(SC_WFFC, DRIVER, { volumeBindingMode: 'WaitForFirstConsumer', parameters: PARAMETERS });
  await kit.storageClass(SC_IMMEDIATE, DRIVER, { parameters: PARAMETERS });
  plugin = await startExtraPlugin(info, kit.kube, { driverName: DRIVER, csiDriverSpec: { attachRequired: false, storageCapacity: true } });
  csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
  await csi.start();
  metricsPort = await freePort();
  provisioner = await startSidecarChecked(info, 'provisioner', {
    csiAddress: plugin.socket,
    logName: 'csi-provisioner-capacity.log',
    env: { NAMESPACE: NS, POD_NAME: POD },
    extraArgs: [
      '--enable-capacity',
      '--capacity-poll-interval=2s',
      '--retry-interval-start=200ms',
      '--retry-interval-max=2s',
      `--http-endpoint=127.0.0.1:${metricsPort}`,
    ],
  });
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  await provisioner?.stop();
  await apps.deleteNamespacedReplicaSet({ name: OWNER, namespace: NS }).catch(() => undefined);
  for (const c of await capacities().catch(() => [])) await kit.kube.storage.deleteNamespacedCSIStorageCapacity({ name: c.metadata!.name!, namespace: NS }).catch(() => undefined);
  csi?.dispose();
  await plugin?.stop();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner --enable-capacity', () => {
  it('publishes what the plugin reports for each topology segment and WaitForFirstConsumer class', async () => {
    const [object] = await waitFor('a CSIStorageCapacity for the WFFC class', async () => {
      const found = await forClass(SC_WFFC);
      return found.length > 0 ? found : undefined;
    });
    // What GetCapacity answers for that segment and those parameters, asked directly.
    const answer = await csi!.controller.getCapacity({
      parameters: PARAMETERS,
      accessible_topology: { segments: { [TOPOLOGY_KEY]: TOPOLOGY_VALUE } },
      volume_capabilities: [],
    });
    expect(answer.available_capacity).toBeGreaterThan(0n);
    expect(parseQuantity(object!.capacity!).value()).toBe(answer.available_capacity);
    expect(object!.nodeTopology).toEqual({ matchLabels: { [TOPOLOGY_KEY]: TOPOLOGY_VALUE } });
    expect(object!.metadata?.labels).toEqual({ 'csi.storage.k8s.io/drivername': DRIVER, 'csi.storage.k8s.io/managed-by': 'external-provisioner' });
    expect(object!.metadata?.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: OWNER, uid: ownerUid, controller: true }]);
    // One segment (every node has the mock's single topology) × one WFFC class; none for Immediate.
    await sleep(2500);
    expect(await forClass(SC_WFFC)).toHaveLength(1);
    expect(await forClass(SC_IMMEDIATE)).toHaveLength(0);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/csistoragecapacities_desired_goal 1\b/);
    // The API version probe (an invalid v1 object) was answered Invalid by the real apiserver.
    expect(readFileSync(provisioner!.logFile, 'utf8')).toContain('Using the CSIStorageCapacity v1 API');
  });

  it('lets kube-scheduler place a claim that fits and refuse one that does not', async () => {
    await kit.claim('fits', SC_WFFC);
    await kit.pod('fits-pod', ['fits']);
    await kit.boundPv('fits');
    await kit.claim('too-big', SC_WFFC, { size: '2Ti' });
    await kit.pod('too-big-pod', ['too-big']);
    const event = await waitFor('FailedScheduling for too-big-pod', async () => (await kit.events('too-big-pod', 'Pod')).find((e) => e.reason === 'FailedScheduling'));
    expect(event.message).toContain('did not have enough free storage');
    const claim = await kit.readClaim('too-big');
    expect(claim.metadata?.annotations?.[ANN_SELECTED_NODE]).toBeUndefined();
    expect(claim.status?.phase).toBe('Pending');
  });

  it('follows StorageClasses and restores objects deleted behind its back', async () => {
    await kit.storageClass(SC_LATER, DRIVER, { volumeBindingMode: 'WaitForFirstConsumer' });
    const [later] = await waitFor('an object for the new class', async () => {
      const found = await forClass(SC_LATER);
      return found.length > 0 ? found : undefined;
    });
    await kit.kube.storage.deleteNamespacedCSIStorageCapacity({ name: later!.metadata!.name!, namespace: NS });
    await waitFor('the object recreated', async () => (await forClass(SC_LATER)).some((c) => c.metadata!.uid !== later!.metadata!.uid));
    await kit.deleteStorageClass(SC_LATER);
    await waitFor('the object of the deleted class removed', async () => (await forClass(SC_LATER)).length === 0);
    expect(await forClass(SC_WFFC)).toHaveLength(1);
  });

  it('leaves objects that the garbage collector removes with their owner', async () => {
    // The volumes first, while the provisioner still runs to delete them.
    await kit.deleteClaimsAndWait(60_000);
    await provisioner!.stop();
    expect((await capacities()).length).toBeGreaterThan(0);
    await apps.deleteNamespacedReplicaSet({ name: OWNER, namespace: NS, propagationPolicy: 'Background' });
    await waitFor('CSIStorageCapacity objects garbage-collected', async () => (await capacities()).length === 0, { timeoutMs: 60_000, intervalMs: 500 });
  });
});
