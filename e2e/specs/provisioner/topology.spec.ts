// csi-provisioner's topology rules on the real 3-node control plane (node-N in zone-N): the
// real kube-scheduler picks nodes for WaitForFirstConsumer claims (honouring allowedTopologies)
// and places pods by the PV node affinity we write, the real kube-controller-manager binds. The
// driver is the project's fake CSI plugin with zonal topology (`topology.kubernetes.io/zone`,
// registered in every CSINode): the Kubernetes mock plugin knows one segment only, and the
// requisite/preferred topologies the sidecar sends can only be seen in a plugin's recorded calls.
// Two drivers: one with the default flags, one with --strict-topology --immediate-topology=false.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { FakeCsiPlugin, type FakeRequest } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ANN_SELECTED_NODE, ProvisionerKit, settledWarnings, ZONE_KEY } from './support.js';

const NS = 'e2e-prov-topology';
const DRIVER = 'e2e-prov-topo.csi.test';
const STRICT_DRIVER = 'e2e-prov-topo-strict.csi.test';
const SC = {
  wffc: 'e2e-prov-topo-wffc',
  wffcAllowed: 'e2e-prov-topo-wffc-allowed',
  immediate: 'e2e-prov-topo-immediate',
  immediateAllowed: 'e2e-prov-topo-immediate-allowed',
  strictWffc: 'e2e-prov-topo-strict-wffc',
  strictWffcAllowed: 'e2e-prov-topo-strict-wffc-allowed',
  strictImmediate: 'e2e-prov-topo-strict-immediate',
};

const kit = new ProvisionerKit(NS);
const plugins: FakeCsiPlugin[] = [];
const sidecars: ManagedProcess[] = [];
let plugin: FakeCsiPlugin;
let strictPlugin: FakeCsiPlugin;
/** node name → zone, from the nodes' labels; and zone → node. */
const zoneOf = new Map<string, string>();
const nodeIn = new Map<string, string>();
let allZones: string[] = [];

const allowed = (...zones: string[]) => [{ matchLabelExpressions: [{ key: ZONE_KEY, values: zones }] }];

async function startDriver(driverName: string, flags: string[]): Promise<FakeCsiPlugin> {
  const info = clusterInfo();
  const p = await FakeCsiPlugin.start({
    driverName,
    pluginCapabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }],
    controllerCapabilities: ['CREATE_DELETE_VOLUME'],
  });
  plugins.push(p);
  // As node-driver-registrar would register a zonal driver: node ID = node name, the zone key.
  await registerDriver(info, kit.kube, driverName, { attachRequired: false }, (node) => ({ nodeID: node, topologyKeys: [ZONE_KEY] }));
  sidecars.push(
    await startSidecarChecked(info, 'provisioner', {
      csiAddress: p.socketPath,
      logName: `csi-provisioner-${driverName}.log`,
      extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', ...flags],
    }),
  );
  return p;
}

/** The CreateVolume request the plugin got for a claim (the first; retries send the same). */
async function createRequest(p: FakeCsiPlugin, claim: string): Promise<FakeRequest<'CreateVolume'>> {
  const uid = (await kit.readClaim(claim)).metadata!.uid!;
  const call = p.callsTo('CreateVolume').find((c) => c.request.name === `pvc-${uid}`);
  if (!call) throw new Error(`no CreateVolume for ${claim}`);
  return call.request;
}

const zones = (topologies: readonly { segments: Record<string, string> }[] | undefined) => (topologies ?? []).map((t) => t.segments[ZONE_KEY]);

function affinityZones(pv: V1PersistentVolume): string[][] {
  return (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).map((t) =>
    (t.matchExpressions ?? []).flatMap((e) => (e.key === ZONE_KEY && e.operator === 'In' ? (e.values ?? []) : [`${e.key} ${e.operator}`])),
  );
}

const rotations = (items: string[]) => items.map((_, i) => [...items.slice(i), ...items.slice(0, i)]);

/** A claim consumed by a pod, through the scheduler: the node it picked and the bound PV. */
async function consumed(claim: string, sc: string): Promise<{ node: string; pv: V1PersistentVolume }> {
  await kit.claim(claim, sc);
  await kit.pod(`${claim}-pod`, [claim]);
  const pv = await kit.boundPv(claim);
  const node = (await kit.readClaim(claim)).metadata!.annotations![ANN_SELECTED_NODE]!;
  // The scheduler binds the pod where the volume is reachable: the node it selected.
  await waitFor(`${claim}-pod bound to ${node}`, async () => (await kit.readPod(`${claim}-pod`)).spec?.nodeName === node);
  return { node, pv };
}

beforeAll(async () => {
  await kit.createNamespace();
  const info = clusterInfo();
  for (const name of info.nodeNames) {
    const zone = (await kit.kube.core.readNode({ name })).metadata!.labels![ZONE_KEY]!;
    zoneOf.set(name, zone);
    nodeIn.set(zone, name);
  }
  allZones = [...nodeIn.keys()].sort();
  expect(allZones).toHaveLength(3);
  await kit.storageClass(SC.wffc, DRIVER, { volumeBindingMode: 'WaitForFirstConsumer' });
  await kit.storageClass(SC.wffcAllowed, DRIVER, { volumeBindingMode: 'WaitForFirstConsumer', allowedTopologies: allowed(allZones[1]!, allZones[2]!) });
  await kit.storageClass(SC.immediate, DRIVER);
  await kit.storageClass(SC.immediateAllowed, DRIVER, { allowedTopologies: allowed(allZones[0]!) });
  await kit.storageClass(SC.strictWffc, STRICT_DRIVER, { volumeBindingMode: 'WaitForFirstConsumer' });
  await kit.storageClass(SC.strictWffcAllowed, STRICT_DRIVER, { volumeBindingMode: 'WaitForFirstConsumer', allowedTopologies: allowed(allZones[2]!) });
  await kit.storageClass(SC.strictImmediate, STRICT_DRIVER);
  plugin = await startDriver(DRIVER, []);
  strictPlugin = await startDriver(STRICT_DRIVER, ['--strict-topology', '--immediate-topology=false']);
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  for (const s of sidecars) await s.stop();
  for (const d of [DRIVER, STRICT_DRIVER]) await unregisterDriver(clusterInfo(), kit.kube, d);
  for (const p of plugins) await p.dispose();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner topology, WaitForFirstConsumer', () => {
  it('offers every zone with the selected node first; the PV is pinned to that zone', async () => {
    const { node, pv } = await consumed('wffc', SC.wffc);
    const req = await createRequest(plugin, 'wffc');
    const zone = zoneOf.get(node)!;
    expect(zones(req.accessibility_requirements?.requisite)).toEqual(allZones);
    const preferred = zones(req.accessibility_requirements?.preferred);
    expect(preferred[0]).toBe(zone);
    expect(rotations(allZones)).toContainEqual(preferred);
    expect(affinityZones(pv)).toEqual([[zone]]);
  });

  it('keeps to allowedTopologies: the scheduler picks only allowed nodes, the requisite is the allowed zones', async () => {
    for (const claim of ['wffc-allowed-0', 'wffc-allowed-1', 'wffc-allowed-2']) {
      const { node, pv } = await consumed(claim, SC.wffcAllowed);
      const zone = zoneOf.get(node)!;
      expect([allZones[1], allZones[2]]).toContain(zone);
      const req = await createRequest(plugin, claim);
      expect(zones(req.accessibility_requirements?.requisite)).toEqual([allZones[1], allZones[2]]);
      expect(zones(req.accessibility_requirements?.preferred)[0]).toBe(zone);
      expect(affinityZones(pv)).toEqual([[zone]]);
    }
  });

  it('with --strict-topology offers only the selected node’s zone', async () => {
    const { node, pv } = await consumed('strict', SC.strictWffc);
    const zone = zoneOf.get(node)!;
    const req = await createRequest(strictPlugin, 'strict');
    expect(zones(req.accessibility_requirements?.requisite)).toEqual([zone]);
    expect(zones(req.accessibility_requirements?.preferred)).toEqual([zone]);
    expect(affinityZones(pv)).toEqual([[zone]]);
  });

  it('with --strict-topology refuses a selected node outside allowedTopologies, in one clear Warning', async () => {
    const outside = nodeIn.get(allZones[0]!)!;
    await kit.claim('strict-outside', SC.strictWffcAllowed, { annotations: { [ANN_SELECTED_NODE]: outside } });
    const warnings = await settledWarnings(kit, 'strict-outside', 3000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.reason).toBe('ProvisioningFailed');
    // Go's wording (%q of the node, %v of the terms).
    expect(warnings[0]!.message).toContain(
      `selected node '"${outside}"' topology '[{${ZONE_KEY} ${allZones[0]}}]' is not in allowed topologies: [[{${ZONE_KEY} ${allZones[2]}}]]`,
    );
    const uid = (await kit.readClaim('strict-outside')).metadata!.uid!;
    expect(strictPlugin.callsTo('CreateVolume').filter((c) => c.request.name === `pvc-${uid}`)).toHaveLength(0);
  });
});

describe('csi-provisioner topology, Immediate', () => {
  it('offers the zones of all nodes running the driver; the scheduler then follows the PV', async () => {
    await kit.claim('immediate', SC.immediate);
    const pv = await kit.boundPv('immediate');
    const req = await createRequest(plugin, 'immediate');
    expect(zones(req.accessibility_requirements?.requisite)).toEqual(allZones);
    const preferred = zones(req.accessibility_requirements?.preferred);
    expect(rotations(allZones)).toContainEqual(preferred);
    expect(affinityZones(pv)).toEqual([[preferred[0]]]);
    await kit.pod('immediate-pod', ['immediate']);
    await waitFor('immediate-pod placed in the volume’s zone', async () => (await kit.readPod('immediate-pod')).spec?.nodeName === nodeIn.get(preferred[0]!));
  });

  it('keeps to allowedTopologies', async () => {
    await kit.claim('immediate-allowed', SC.immediateAllowed);
    const pv = await kit.boundPv('immediate-allowed');
    const req = await createRequest(plugin, 'immediate-allowed');
    expect(zones(req.accessibility_requirements?.requisite)).toEqual([allZones[0]]);
    expect(zones(req.accessibility_requirements?.preferred)).toEqual([allZones[0]]);
    expect(affinityZones(pv)).toEqual([[allZones[0]]]);
  });

  it('spreads StatefulSet replicas: consecutive ordinals start at consecutive zones', async () => {
    const claims = ['data-web-0', 'data-web-1', 'data-web-2'];
    for (const c of claims) await kit.claim(c, SC.immediate);
    const preferred: string[][] = [];
    const pvZones: string[][][] = [];
    for (const c of claims) {
      pvZones.push(affinityZones(await kit.boundPv(c)));
      preferred.push(zones((await createRequest(plugin, c)).accessibility_requirements?.preferred) as string[]);
    }
    const firsts = preferred.map((p) => p[0]);
    expect(new Set(firsts).size).toBe(3);
    // web-1 prefers what web-0 lists second, web-2 what web-0 lists third.
    expect(preferred[1]).toEqual([...preferred[0]!.slice(1), preferred[0]![0]]);
    expect(preferred[2]).toEqual([...preferred[0]!.slice(2), ...preferred[0]!.slice(0, 2)]);
    expect(pvZones).toEqual(firsts.map((z) => [[z]]));
  });

  it('with --immediate-topology=false sends no requirements and the PV has no node affinity', async () => {
    await kit.claim('immediate-free', SC.strictImmediate);
    const pv = await kit.boundPv('immediate-free');
    const req = await createRequest(strictPlugin, 'immediate-free');
    expect(req.accessibility_requirements ?? undefined).toBeUndefined();
    expect(pv.spec?.nodeAffinity).toBeUndefined();
  });
});
