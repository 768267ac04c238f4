// csi-attacher's attach lifecycle against the real control plane and the real Kubernetes e2e CSI
// mock plugin with attach enabled, run under a driver name of this spec's own (startExtraPlugin):
// kube-controller-manager's attach/detach controller creates a VolumeAttachment when a Pod is
// scheduled to a (fake) node and deletes it when the Pod goes; our attacher publishes and
// unpublishes. The mock keeps the publish state of a volume in its volume context
// ("<node ID>/dev"), which ListVolumes shows, so the spec reads the plugin's real state there
// (its published_node_ids are no help: the mock lists every volume as published, always).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME, TOPOLOGY_KEY, TOPOLOGY_VALUE } from '../../src/harness/control-plane.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import { FakeNodes } from '../../src/harness/fake-nodes.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { AttacherKit, attacherFinalizer, NODE_ID_ANNOTATION } from './attacher-kit.js';

const NS = 'e2e-attacher-lifecycle';
/** The mock plugin accepts ControllerPublish only for a node ID equal to its driver name. */
const DRIVER = 'attacher-lifecycle.e2e.csi';
const FINALIZER = attacherFinalizer(DRIVER);
/** Our own node, registered for the cluster's driver only: its CSINode lacks DRIVER. */
const NODE_WITHOUT_DRIVER = 'e2e-att-lc-node-1';
const PUBLISHED_KEY = `${DRIVER}/dev`;

const kube = clusterKube();
const kit = new AttacherKit(kube, NS);
let plugin: ExtraPlugin | undefined;
let csi: CsiConnection | undefined;
let attacher: ManagedProcess | undefined;
let extraNodes: FakeNodes | undefined;

async function createVolume(name: string): Promise<string> {
  const res = await csi!.controller.createVolume({
    name,
    capacity_range: { required_bytes: 1024n ** 3n },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  return res.volume!.volume_id;
}

/** Whether the mock has the volume published to its (only) node ID, from its own bookkeeping. */
async function publishedInPlugin(handle: string): Promise<boolean> {
  const listed = await csi!.controller.listVolumes({});
  const entry = listed.entries.find((e) => e.volume?.volume_id === handle);
  if (!entry) throw new Error(`volume ${handle} is not listed by the plugin`);
  return (entry.volume?.volume_context?.[PUBLISHED_KEY] ?? '') !== '';
}

async function boundClaim(name: string): Promise<{ pv: string; pvc: string; handle: string }> {
  const handle = await createVolume(name);
  const { pv, pvc } = await kit.createClaim(name, DRIVER, handle);
  await kit.waitBound(pvc);
  return { pv, pvc, handle };
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  plugin = await startExtraPlugin(info, kube, { driverName: DRIVER });
  csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
  await csi.start();
  attacher = await startSidecarChecked(info, 'attacher', {
    csiAddress: plugin.socket,
    logName: 'csi-attacher-lifecycle.log',
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s'],
  });
});

afterAll(async () => {
  await kit.drain();
  await attacher?.stop();
  await kit.cleanUp([FINALIZER]);
  await extraNodes?.stop();
  await kube.storage.deleteCSINode({ name: NODE_WITHOUT_DRIVER }).catch(() => undefined);
  await kube.core.deleteNode({ name: NODE_WITHOUT_DRIVER }).catch(() => undefined);
  csi?.dispose();
  await plugin?.stop();
});

describe('csi-attacher lifecycle with kube-controller-manager and the CSI mock plugin', () => {
  it('attaches when Pods are scheduled to node-1..3 and detaches when they are deleted', async () => {
    const claims = await Promise.all(['e2e-lc-a1', 'e2e-lc-a2', 'e2e-lc-a3'].map((n) => boundClaim(n)));
    for (const [i, c] of claims.entries()) await kit.podOn(c.pvc, `node-${i + 1}`, c.pvc);

    for (const [i, c] of claims.entries()) {
      const va = await kit.waitVa(c.pv, 'attached', (v) => v.status?.attached === true);
      expect(va.spec.attacher).toBe(DRIVER);
      expect(va.spec.nodeName).toBe(`node-${i + 1}`);
      expect(va.status?.attachmentMetadata).toEqual({ device: '/dev/mock', readonly: 'false' });
      expect(va.status?.attachError).toBeUndefined();
      expect(va.metadata?.finalizers).toEqual([FINALIZER]);
      expect(va.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBe(DRIVER);
      expect((await kit.readPv(c.pv))?.metadata?.finalizers).toContain(FINALIZER);
      expect(await publishedInPlugin(c.handle)).toBe(true);
    }

    for (const c of claims) await kit.deletePod(c.pvc);
    for (const c of claims) {
      await kit.waitVaGone(c.pv);
      expect(await publishedInPlugin(c.handle)).toBe(false);
      // The PV is not being deleted: our finalizer stays until it is.
      expect((await kit.readPv(c.pv))?.metadata?.finalizers).toContain(FINALIZER);
    }
  });

  it('keeps a PV deleted while attached until its VolumeAttachment is gone, then lets it go', async () => {
    const { pv, pvc, handle } = await boundClaim('e2e-lc-fin');
    await kit.podOn('e2e-lc-fin', 'node-2', pvc);
    await kit.waitVa(pv, 'attached', (v) => v.status?.attached === true);

    // Claim and PV are deleted while the Pod still uses the volume.
    await kube.core.deleteNamespacedPersistentVolumeClaim({ name: pvc, namespace: NS });
    await kube.core.deletePersistentVolume({ name: pv });
    const terminating = await waitFor('PV marked for deletion', async () => {
      const p = await kit.readPv(pv);
      return p?.metadata?.deletionTimestamp ? p : undefined;
    });
    expect(terminating.metadata?.finalizers).toContain(FINALIZER);
    // Several informer rounds later the finalizer is still there, and the volume still attached.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await kit.readPv(pv))?.metadata?.finalizers).toContain(FINALIZER);
    expect((await kit.vaFor(pv))?.status?.attached).toBe(true);
    expect(await publishedInPlugin(handle)).toBe(true);

    // The Pod goes: detach, claim released, and only then the PV.
    await kit.deletePod('e2e-lc-fin');
    // Polled PV first, then VA: a PV already gone while its VA is still there breaks the rule.
    let pvGoneWhileAttached = false;
    await waitFor(
      'the PV to be deleted',
      async () => {
        const pvNow = await kit.readPv(pv);
        const vaNow = await kit.vaFor(pv);
        if (pvNow === undefined && vaNow !== undefined) pvGoneWhileAttached = true;
        return pvNow === undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(pvGoneWhileAttached).toBe(false);
    expect(await kit.vaFor(pv)).toBeUndefined();
    expect(await publishedInPlugin(handle)).toBe(false);
  });

  it('saves an error for a node whose CSINode lacks the driver, and attaches once the driver is registered there', async () => {
    // A node registered for the cluster's driver only (its CSINode exists, without DRIVER).
    extraNodes = new FakeNodes(kube, {
      count: 1,
      driverName: DRIVER_NAME,
      csiNodeId: DRIVER_NAME,
      topology: { [TOPOLOGY_KEY]: TOPOLOGY_VALUE },
      namePrefix: 'e2e-att-lc-node-',
    });
    expect(await extraNodes.start()).toEqual([NODE_WITHOUT_DRIVER]);

    const { pv, pvc, handle } = await boundClaim('e2e-lc-nodrv');
    await kit.podOn('e2e-lc-nodrv', NODE_WITHOUT_DRIVER, pvc);
    const failed = await kit.waitVa(pv, 'attach error saved', (v) => v.status?.attachError !== undefined);
    expect(failed.status?.attached).toBe(false);
    expect(failed.status?.attachError?.message).toContain(`CSINode ${NODE_WITHOUT_DRIVER} does not contain driver ${DRIVER}`);
    // Not a gRPC error: no code.
    expect(failed.status?.attachError?.errorCode).toBeUndefined();
    // Nothing was published, so nothing needs a detach: the VA is left without our finalizer.
    expect(failed.metadata?.finalizers ?? []).not.toContain(FINALIZER);
    expect(await publishedInPlugin(handle)).toBe(false);

    // The node plugin registers (node-driver-registrar would add the entry): the next retry attaches.
    const csiNode = await kube.storage.readCSINode({ name: NODE_WITHOUT_DRIVER });
    csiNode.spec.drivers.push({ name: DRIVER, nodeID: DRIVER, topologyKeys: [TOPOLOGY_KEY] });
    await kube.storage.replaceCSINode({ name: NODE_WITHOUT_DRIVER, body: csiNode });
    const attached = await kit.waitVa(pv, 'attached after the CSINode fix', (v) => v.status?.attached === true, 30_000);
    expect(attached.status?.attachError).toBeUndefined();
    expect(attached.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBe(DRIVER);
    expect(attached.metadata?.finalizers).toEqual([FINALIZER]);
    expect(await publishedInPlugin(handle)).toBe(true);

    await kit.deletePod('e2e-lc-nodrv');
    await kit.waitVaGone(pv);
    expect(await publishedInPlugin(handle)).toBe(false);
  });
});
