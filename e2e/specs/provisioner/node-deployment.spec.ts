// csi-provisioner in node-deployment mode (--node-deployment, NODE_NAME): one provisioner and
// one plugin per node of the real 3-node control plane, as a DaemonSet of a node-local driver
// would run. Each plugin is the project's fake CSI plugin reporting its own node and zone in
// NodeGetInfo (the Kubernetes mock plugin reports one fixed node for every instance), so the
// spec can see which node's plugin created each volume. kube-scheduler picks nodes for
// WaitForFirstConsumer claims; Immediate claims are raced for by the three provisioners.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeCsiPlugin, GiB } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ANN_SELECTED_NODE, ProvisionerKit, ZONE_KEY } from './support.js';

const NS = 'e2e-prov-node-deployment';
const DRIVER = 'e2e-prov-node.csi.test';
const SC_WFFC = 'e2e-prov-node-wffc';
const SC_IMMEDIATE = 'e2e-prov-node-immediate';

const kit = new ProvisionerKit(NS);
/** node name → its plugin and provisioner. */
const plugins = new Map<string, FakeCsiPlugin>();
const sidecars: ManagedProcess[] = [];
const zoneOf = new Map<string, string>();
let nodes: string[] = [];
/** The first node's plugin has room for 1 GiB only. */
let smallNode = '';

/** Which nodes' plugins hold a volume of this name, and which got CreateVolume for it. */
function whereIs(pvName: string): { stored: string[]; called: string[] } {
  const stored: string[] = [];
  const called: string[] = [];
  for (const [node, p] of plugins) {
    if (p.store.byName(pvName)) stored.push(node);
    if (p.callsTo('CreateVolume').some((c) => c.request.name === pvName)) called.push(node);
  }
  return { stored, called };
}

function affinityZone(pv: { spec?: { nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; values?: string[] }[] }[] } } } }): string[] {
  return (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).flatMap((t) => (t.matchExpressions ?? []).filter((e) => e.key === ZONE_KEY).flatMap((e) => e.values ?? []));
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  nodes = [...info.nodeNames];
  smallNode = nodes[0]!;
  for (const node of nodes) zoneOf.set(node, (await kit.kube.core.readNode({ name: node })).metadata!.labels![ZONE_KEY]!);
  await kit.storageClass(SC_WFFC, DRIVER, { volumeBindingMode: 'WaitForFirstConsumer' });
  await kit.storageClass(SC_IMMEDIATE, DRIVER);
  for (const node of nodes) {
    plugins.set(
      node,
      await FakeCsiPlugin.start({
        driverName: DRIVER,
        pluginCapabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }],
        controllerCapabilities: ['CREATE_DELETE_VOLUME', 'GET_CAPACITY'],
        nodeId: node,
        nodeTopology: { segments: { [ZONE_KEY]: zoneOf.get(node)! } },
        store: node === smallNode ? { totalCapacity: GiB } : {},
      }),
    );
  }
  await registerDriver(info, kit.kube, DRIVER, { attachRequired: false }, (node) => ({ nodeID: node, topologyKeys: [ZONE_KEY] }));
  for (const node of nodes) {
    sidecars.push(
      await startSidecarChecked(info, 'provisioner', {
        csiAddress: plugins.get(node)!.socketPath,
        logName: `csi-provisioner-node-${node}.log`,
        env: { NODE_NAME: node },
        extraArgs: [
          '--node-deployment',
          '--node-deployment-base-delay=100ms',
          '--node-deployment-max-delay=2s',
          '--retry-interval-start=200ms',
          '--retry-interval-max=2s',
        ],
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  for (const s of sidecars) await s.stop();
  await unregisterDriver(clusterInfo(), kit.kube, DRIVER);
  for (const p of plugins.values()) await p.dispose();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner --node-deployment', () => {
  it('provisions a WaitForFirstConsumer claim only on the node the scheduler selected', async () => {
    await kit.claim('wffc', SC_WFFC);
    await kit.pod('wffc-pod', ['wffc']);
    const pv = await kit.boundPv('wffc');
    const node = (await kit.readClaim('wffc')).metadata!.annotations![ANN_SELECTED_NODE]!;
    expect(whereIs(pv.metadata!.name!)).toEqual({ stored: [node], called: [node] });
    expect(affinityZone(pv)).toEqual([zoneOf.get(node)]);
    await waitFor('wffc-pod bound to the selected node', async () => (await kit.readPod('wffc-pod')).spec?.nodeName === node);
  });

  it('gives each Immediate claim to exactly one node, which records itself as the selected node', async () => {
    const claims = Array.from({ length: 6 }, (_, i) => `immediate-${i}`);
    for (const c of claims) await kit.claim(c, SC_IMMEDIATE, { size: '100Mi' });
    for (const c of claims) {
      const pv = await kit.boundPv(c, 90_000);
      const node = (await kit.readClaim(c)).metadata!.annotations![ANN_SELECTED_NODE]!;
      expect(nodes).toContain(node);
      expect({ claim: c, ...whereIs(pv.metadata!.name!) }).toEqual({ claim: c, stored: [node], called: [node] });
      expect(affinityZone(pv)).toEqual([zoneOf.get(node)]);
    }
  });

  it('does not take an Immediate claim on a node whose plugin reports too little capacity', async () => {
    const claims = ['big-0', 'big-1', 'big-2'];
    for (const c of claims) await kit.claim(c, SC_IMMEDIATE, { size: '2Gi' });
    for (const c of claims) {
      const pv = await kit.boundPv(c, 90_000);
      const node = (await kit.readClaim(c)).metadata!.annotations![ANN_SELECTED_NODE]!;
      expect(node).not.toBe(smallNode);
      expect(whereIs(pv.metadata!.name!).stored).toEqual([node]);
    }
    // The small node asked its plugin before it gave up the race.
    expect(plugins.get(smallNode)!.callsTo('GetCapacity').length).toBeGreaterThan(0);
  });

  it('deletes each volume through the provisioner of its own node', async () => {
    const pvs = await kit.pvs();
    expect(pvs.length).toBeGreaterThanOrEqual(10);
    // node → handles of the volumes its plugin holds (handles repeat across plugins: each fake
    // numbers its own volumes).
    const owned = new Map(nodes.map((n) => [n, [] as string[]]));
    for (const pv of pvs) {
      const { stored } = whereIs(pv.metadata!.name!);
      expect(stored).toHaveLength(1);
      owned.get(stored[0]!)!.push(pv.spec!.csi!.volumeHandle);
    }
    await kit.deletePods();
    for (const c of await kit.claims()) await kit.deleteClaim(c.metadata!.name!);
    await waitFor('all PVs deleted', async () => (await kit.pvs()).length === 0, { timeoutMs: 60_000, intervalMs: 500 });
    for (const pv of pvs) expect({ pv: pv.metadata!.name, stored: whereIs(pv.metadata!.name!).stored }).toEqual({ pv: pv.metadata!.name, stored: [] });
    // Each plugin was asked to delete exactly its own volumes: no provisioner touched another node's.
    for (const [node, p] of plugins) {
      const deleted = p.callsTo('DeleteVolume').filter((c) => c.outcome === 'OK').map((c) => c.request.volume_id);
      expect({ node, deleted: [...new Set(deleted)].sort() }).toEqual({ node, deleted: [...owned.get(node)!].sort() });
    }
  });
});
