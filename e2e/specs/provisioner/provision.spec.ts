// csi-provisioner against the real control plane: kube-controller-manager's PV controller
// annotates claims for the driver and binds the PVs we create, kube-scheduler picks nodes for
// WaitForFirstConsumer claims, and volumes are created and deleted in the Kubernetes e2e CSI
// mock plugin, which we also query directly (ListVolumes) to prove nothing is left behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME, TOPOLOGY_KEY } from '../../src/harness/control-plane.js';
import { statusCode } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { plantSecret, secretValue } from '../../src/harness/planted-secrets.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';

const NS = 'e2e-provisioner';
const SC_IMMEDIATE = 'e2e-prov-immediate';
const SC_LATE = 'e2e-prov-wffc';
const SC_BAD = 'e2e-prov-bad-param';
const SC_SECRET = 'e2e-prov-secret';
const FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';

const kube = clusterKube();
let provisioner: ManagedProcess | undefined;
let csi: CsiConnection | undefined;
let metricsPort = 0;

async function storageClass(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  try {
    await kube.storage.deleteStorageClass({ name });
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
  await kube.storage.createStorageClass({
    body: { metadata: { name }, provisioner: DRIVER_NAME, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate', ...extra },
  });
}

async function claim(name: string, sc: string): Promise<V1PersistentVolumeClaim> {
  return kube.core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: sc, resources: { requests: { storage: '1Gi' } } } },
  });
}

const readClaim = (name: string) => kube.core.readNamespacedPersistentVolumeClaim({ name, namespace: NS });

async function readPv(name: string): Promise<V1PersistentVolume | undefined> {
  try {
    return await kube.core.readPersistentVolume({ name });
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

async function eventsFor(name: string): Promise<CoreV1Event[]> {
  const list = await kube.core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

async function boundPv(pvc: string): Promise<V1PersistentVolume> {
  const c = await waitFor(`${pvc} Bound`, async () => {
    const x = await readClaim(pvc);
    return x.status?.phase === 'Bound' ? x : undefined;
  });
  const pv = await readPv(c.spec!.volumeName!);
  if (!pv) throw new Error(`PV ${c.spec!.volumeName} of ${pvc} not found`);
  return pv;
}

async function backendVolumeIds(): Promise<string[]> {
  const res = await csi!.controller.listVolumes({});
  return res.entries.map((e) => e.volume?.volume_id ?? '');
}

async function deleteClaim(name: string): Promise<void> {
  await kube.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: NS }).catch(() => undefined);
}

beforeAll(async () => {
  const info = clusterInfo();
  try {
    await kube.core.createNamespace({ body: { metadata: { name: NS } } });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  await storageClass(SC_IMMEDIATE);
  await storageClass(SC_LATE, { volumeBindingMode: 'WaitForFirstConsumer' });
  await storageClass(SC_BAD, { parameters: { 'csi.storage.k8s.io/unknown-key': 'x' } });
  await storageClass(SC_SECRET, {
    parameters: { 'csi.storage.k8s.io/provisioner-secret-name': '${pvc.name}-creds', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' },
  });
  csi = new CsiConnection({ address: info.csiEndpoint, onConnectionLost: () => undefined });
  await csi.start();
  metricsPort = await freePort();
  provisioner = await startSidecarChecked(info, 'provisioner', {
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', `--http-endpoint=127.0.0.1:${metricsPort}`],
  });
});

afterAll(async () => {
  const pods = await kube.core.listNamespacedPod({ namespace: NS }).catch(() => ({ items: [] }));
  for (const p of pods.items) await kube.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined);
  const claims = await kube.core.listNamespacedPersistentVolumeClaim({ namespace: NS }).catch(() => ({ items: [] }));
  const pvNames = claims.items.map((c) => c.spec?.volumeName).filter((n): n is string => !!n);
  for (const c of claims.items) await deleteClaim(c.metadata!.name!);
  // Let the provisioner delete the volumes it made before it stops.
  await waitFor('PVs of the spec deleted', async () => (await Promise.all(pvNames.map(readPv))).every((p) => p === undefined), { timeoutMs: 30_000 }).catch(() => undefined);
  await provisioner?.stop();
  csi?.dispose();
  for (const sc of [SC_IMMEDIATE, SC_LATE, SC_BAD, SC_SECRET]) await kube.storage.deleteStorageClass({ name: sc }).catch(() => undefined);
});

describe('csi-provisioner', () => {
  it('binds an Immediate claim to a PV that matches it', async () => {
    const created = await claim('immediate', SC_IMMEDIATE);
    const pv = await boundPv('immediate');
    expect(pv.metadata?.name).toBe(`pvc-${created.metadata!.uid}`);
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(DRIVER_NAME);
    expect(pv.metadata?.finalizers).toContain(FINALIZER);
    expect(pv.spec?.csi?.driver).toBe(DRIVER_NAME);
    expect(pv.spec?.capacity?.storage).toBe('1Gi');
    expect(pv.spec?.claimRef).toMatchObject({ namespace: NS, name: 'immediate', uid: created.metadata!.uid });
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv.spec?.storageClassName).toBe(SC_IMMEDIATE);
    expect(await backendVolumeIds()).toContain(pv.spec!.csi!.volumeHandle);
    // Events are written asynchronously; the claim can be Bound before they land.
    const reasons = await waitFor('Provisioning and ProvisioningSucceeded events', async () => {
      const r = (await eventsFor('immediate')).map((e) => e.reason);
      return r.includes('Provisioning') && r.includes('ProvisioningSucceeded') ? r : undefined;
    });
    expect(reasons).toEqual(expect.arrayContaining(['Provisioning', 'ProvisioningSucceeded']));
    // Counted once the save (and its journal bookkeeping) finished, which may be after the bind.
    const counted = new RegExp(`controller_persistentvolumeclaim_provision_total\\{class="${SC_IMMEDIATE}",source=""\\} 1`);
    const metrics = await waitFor('provision_total counted', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return counted.test(text) ? text : undefined;
    }, { timeoutMs: 10_000 });
    expect(metrics).toMatch(counted);
    expect(metrics).toMatch(/csi_sidecar_operations_seconds_count\{driver_name="io.kubernetes.storage.mock",method_name="\/csi.v1.Controller\/CreateVolume",grpc_status_code="OK"\}/);
  });

  it('waits for a consumer, then provisions in the selected node topology', async () => {
    await claim('late', SC_LATE);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await readClaim('late')).status?.phase).toBe('Pending');
    expect((await readClaim('late')).spec?.volumeName).toBeFalsy();
    await kube.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'consumer' },
        spec: {
          containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'late' } }],
        },
      },
    });
    const pv = await boundPv('late');
    const selected = (await readClaim('late')).metadata?.annotations?.['volume.kubernetes.io/selected-node'];
    expect(selected).toBeTruthy();
    const node = await kube.core.readNode({ name: selected! });
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    expect(terms.length).toBeGreaterThan(0);
    const matches = terms.some((t) => (t.matchExpressions ?? []).every((e) => e.operator === 'In' && (e.values ?? []).includes(node.metadata?.labels?.[e.key] ?? '')));
    expect(matches).toBe(true);
    expect(terms[0]!.matchExpressions?.[0]?.key).toBe(TOPOLOGY_KEY);
    await kube.core.deleteNamespacedPod({ name: 'consumer', namespace: NS, gracePeriodSeconds: 0 });
  });

  it('deletes the PV and the backend volume when the claim is deleted', async () => {
    await claim('short-lived', SC_IMMEDIATE);
    const pv = await boundPv('short-lived');
    const handle = pv.spec!.csi!.volumeHandle;
    expect(await backendVolumeIds()).toContain(handle);
    await deleteClaim('short-lived');
    await waitFor(`${pv.metadata!.name} deleted`, async () => (await readPv(pv.metadata!.name!)) === undefined);
    expect(await backendVolumeIds()).not.toContain(handle);
  });

  it('reports an unknown csi.storage.k8s.io/ parameter and keeps serving other claims', async () => {
    await claim('bad-param', SC_BAD);
    const event = await waitFor('ProvisioningFailed event', async () => (await eventsFor('bad-param')).find((e) => e.reason === 'ProvisioningFailed'));
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('found unknown parameter key "csi.storage.k8s.io/unknown-key" with reserved namespace csi.storage.k8s.io/');
    await claim('after-bad', SC_IMMEDIATE);
    await boundPv('after-bad');
    expect((await readClaim('bad-param')).status?.phase).toBe('Pending');
  });

  it('retries while the provisioner secret is missing and provisions once it exists', async () => {
    await claim('needs-secret', SC_SECRET);
    const event = await waitFor('ProvisioningFailed event', async () => (await eventsFor('needs-secret')).find((e) => e.reason === 'ProvisioningFailed'));
    expect(event.message).toContain('error getting secret needs-secret-creds in namespace e2e-provisioner');
    await plantSecret(kube, NS, 'needs-secret-creds', { password: secretValue('password') });
    const pv = await boundPv('needs-secret');
    expect(pv.metadata?.annotations).toMatchObject({
      'volume.kubernetes.io/provisioner-deletion-secret-name': 'needs-secret-creds',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': NS,
    });
  });
});
