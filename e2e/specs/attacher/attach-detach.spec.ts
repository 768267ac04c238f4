// csi-attacher against the real control plane: kube-controller-manager's attach/detach
// controller creates and deletes the VolumeAttachments, our attacher publishes and unpublishes
// through the Kubernetes e2e CSI mock plugin. Volumes are created in the plugin directly and
// bound statically (PV + PVC), so the spec does not depend on the provisioner.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1PersistentVolume, V1VolumeAttachment } from '@kubernetes/client-node';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { CSI_NODE_ID, DRIVER_NAME, TOPOLOGY_KEY, TOPOLOGY_VALUE } from '../../src/harness/control-plane.js';
import { FakeNodes } from '../../src/harness/fake-nodes.js';
import { mergePatch, statusCode } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';

const NS = 'e2e-attacher';
const FINALIZER = 'external-attacher/io-kubernetes-storage-mock';
const NODE_ID_ANNOTATION = 'csi.alpha.kubernetes.io/node-id';
/** A node of our own whose CSINode names a node ID the plugin does not know. */
const BAD_NODE = 'e2e-attacher-node-1';

const kube = clusterKube();
let attacher: ManagedProcess | undefined;
let csi: CsiConnection | undefined;
let metricsPort = 0;
let badNodes: FakeNodes | undefined;
const pvNames: string[] = [];

async function createVolume(name: string): Promise<string> {
  const res = await csi!.controller.createVolume({
    name,
    capacity_range: { required_bytes: 1024n ** 3n },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  return res.volume!.volume_id;
}

/** A PV for a plugin volume, pre-bound to a PVC, and the PVC; resolves once they are Bound. */
async function boundClaim(name: string): Promise<{ pv: string; pvc: string; handle: string }> {
  const handle = await createVolume(name);
  const pv = `${name}-pv`;
  const pvc = `${name}-pvc`;
  pvNames.push(pv);
  await kube.core.createPersistentVolume({
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        claimRef: { namespace: NS, name: pvc },
        csi: { driver: DRIVER_NAME, volumeHandle: handle, fsType: 'ext4' },
      },
    },
  });
  await kube.core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: {
      metadata: { name: pvc },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
    },
  });
  await waitFor(`${pvc} Bound`, async () => (await kube.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS })).status?.phase === 'Bound');
  return { pv, pvc, handle };
}

async function podOn(name: string, nodeName: string, pvc: string): Promise<void> {
  await kube.core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name },
      spec: {
        nodeName,
        containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvc } }],
      },
    },
  });
}

async function vaFor(pv: string): Promise<V1VolumeAttachment | undefined> {
  const list = await kube.storage.listVolumeAttachment();
  return list.items.find((va) => va.spec.source.persistentVolumeName === pv);
}

async function readPv(name: string): Promise<V1PersistentVolume | undefined> {
  try {
    return await kube.core.readPersistentVolume({ name });
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}

/** Deletes the claim and then the PV, and waits until the PV is gone. */
async function deleteClaimAndPv(pvc: string, pv: string): Promise<void> {
  await kube.core.deleteNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS });
  await waitFor(`${pvc} deleted`, async () => {
    try {
      await kube.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS });
      return false;
    } catch (err) {
      return statusCode(err) === 404;
    }
  });
  await kube.core.deletePersistentVolume({ name: pv });
  await waitFor(`${pv} deleted`, async () => (await readPv(pv)) === undefined);
}

async function scrapeMetrics(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return res.text();
}

beforeAll(async () => {
  const info = clusterInfo();
  try {
    await kube.core.createNamespace({ body: { metadata: { name: NS } } });
  } catch (err) {
    if (statusCode(err) !== 409) throw err;
  }
  csi = new CsiConnection({ address: info.csiEndpoint, onConnectionLost: () => undefined });
  await csi.start();
  metricsPort = await freePort();
  attacher = await startSidecarChecked(info, 'attacher', {
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', `--http-endpoint=127.0.0.1:${metricsPort}`],
  });
});

afterAll(async () => {
  // Best effort: leave no Pod, claim, PV or node behind for the specs that follow.
  const pods = await kube.core.listNamespacedPod({ namespace: NS }).catch(() => ({ items: [] }));
  for (const p of pods.items) await kube.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: NS, gracePeriodSeconds: 0 }).catch(() => undefined);
  await badNodes?.stop();
  await attacher?.stop();
  for (const name of pvNames) {
    const pv = await readPv(name).catch(() => undefined);
    if (pv?.metadata?.finalizers?.includes(FINALIZER)) {
      await kube.core
        .patchPersistentVolume({ name, body: { metadata: { finalizers: pv.metadata.finalizers.filter((f) => f !== FINALIZER) } } }, mergePatch)
        .catch(() => undefined);
    }
    await kube.core.deletePersistentVolume({ name }).catch(() => undefined);
  }
  const vas = await kube.storage.listVolumeAttachment().catch(() => ({ items: [] as V1VolumeAttachment[] }));
  for (const va of vas.items) {
    if (!pvNames.includes(va.spec.source.persistentVolumeName ?? '')) continue;
    await kube.storage.patchVolumeAttachment({ name: va.metadata!.name!, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
  }
  await kube.storage.deleteCSINode({ name: BAD_NODE }).catch(() => undefined);
  await kube.core.deleteNode({ name: BAD_NODE }).catch(() => undefined);
  await kube.core.deleteNamespace({ name: NS }).catch(() => undefined);
  csi?.dispose();
});

describe('csi-attacher with kube-controller-manager and the CSI mock plugin', () => {
  it('attaches the volume of a Pod on node-1 and detaches it when the Pod is deleted', async () => {
    const { pv, pvc, handle } = await boundClaim('e2e-att-1');
    await podOn('e2e-att-1', 'node-1', pvc);

    const attached = await waitFor('VolumeAttachment attached', async () => {
      const va = await vaFor(pv);
      return va?.status?.attached ? va : undefined;
    });
    expect(attached.spec.attacher).toBe(DRIVER_NAME);
    expect(attached.spec.nodeName).toBe('node-1');
    // The mock plugin's publish context.
    expect(attached.status?.attachmentMetadata).toEqual({ device: '/dev/mock', readonly: 'false' });
    expect(attached.status?.attachError).toBeUndefined();
    expect(attached.metadata?.finalizers).toContain(FINALIZER);
    expect(attached.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBe(CSI_NODE_ID);
    expect((await readPv(pv))?.metadata?.finalizers).toContain(FINALIZER);

    const listed = await csi!.controller.listVolumes({});
    expect(listed.entries.find((e) => e.volume?.volume_id === handle)).toBeDefined();

    const metrics = await scrapeMetrics();
    expect(metrics).toMatch(/csi_sidecar_operations_seconds_count\{[^}]*method_name="\/csi\.v1\.Controller\/ControllerPublishVolume"[^}]*\} [1-9]/);
    expect(metrics).toContain('workqueue_adds_total{name="csi-attacher-va"}');
    expect(metrics).toContain('workqueue_depth{name="csi-attacher-pv"}');

    // Delete the Pod: the attach/detach controller deletes the VA, we unpublish and let it go.
    const vaName = attached.metadata!.name!;
    await kube.core.deleteNamespacedPod({ name: 'e2e-att-1', namespace: NS, gracePeriodSeconds: 0 });
    await waitFor('VolumeAttachment gone', async () => (await vaFor(pv)) === undefined, { timeoutMs: 120_000 });
    expect((await scrapeMetrics())).toMatch(/csi_sidecar_operations_seconds_count\{[^}]*method_name="\/csi\.v1\.Controller\/ControllerUnpublishVolume"[^}]*\} [1-9]/);
    expect(vaName).toMatch(/^csi-/);

    // No VA uses the PV any more: deleting it releases our finalizer and the PV goes away.
    expect((await readPv(pv))?.metadata?.finalizers).toContain(FINALIZER);
    await deleteClaimAndPv(pvc, pv);
  });

  it('saves a plugin error in attachError with its gRPC code, and retries until the attach succeeds', async () => {
    // A node whose CSINode carries a node ID the plugin rejects with NotFound.
    badNodes = new FakeNodes(kube, {
      count: 1,
      driverName: DRIVER_NAME,
      csiNodeId: 'e2e-attacher-wrong-id',
      topology: { [TOPOLOGY_KEY]: TOPOLOGY_VALUE },
      namePrefix: 'e2e-attacher-node-',
    });
    expect(await badNodes.start()).toEqual([BAD_NODE]);

    const { pv, pvc } = await boundClaim('e2e-att-2');
    await podOn('e2e-att-2', BAD_NODE, pvc);
    const failed = await waitFor('attach error saved', async () => {
      const va = await vaFor(pv);
      return va?.status?.attachError ? va : undefined;
    });
    expect(failed.status?.attached).toBe(false);
    expect(failed.status?.attachError?.message).toBe(
      `rpc error: code = NotFound desc = Not matching Node ID e2e-attacher-wrong-id to Mock Node ID ${CSI_NODE_ID}`,
    );
    expect(failed.status?.attachError?.errorCode).toBe(5);
    // Finalizer and node ID went on before the call: whatever happened, a detach will follow.
    expect(failed.metadata?.finalizers).toContain(FINALIZER);
    expect(failed.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBe('e2e-attacher-wrong-id');

    // The node plugin "re-registers" with the right ID: the next retry attaches.
    await kube.storage.deleteCSINode({ name: BAD_NODE });
    await kube.storage.createCSINode({
      body: { metadata: { name: BAD_NODE }, spec: { drivers: [{ name: DRIVER_NAME, nodeID: CSI_NODE_ID, topologyKeys: [TOPOLOGY_KEY] }] } },
    });
    const fixed = await waitFor('attached after retry', async () => {
      const va = await vaFor(pv);
      return va?.status?.attached ? va : undefined;
    });
    expect(fixed.status?.attachError).toBeUndefined();
    expect(fixed.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBe(CSI_NODE_ID);

    await kube.core.deleteNamespacedPod({ name: 'e2e-att-2', namespace: NS, gracePeriodSeconds: 0 });
    // The attach/detach controller counts the volume as mounted on this new node until the
    // node's status next changes (kubelet's volumesInUse): a heartbeat instead of the periodic one.
    await badNodes.heartbeat();
    await waitFor('VolumeAttachment gone', async () => (await vaFor(pv)) === undefined, { timeoutMs: 120_000 });
    await deleteClaimAndPv(pvc, pv);
  });
});
