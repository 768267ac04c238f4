// csi-provisioner CSI migration against the real control plane (kube-controller-manager 1.36 still
// hands claims of in-tree StorageClasses to the CSI driver that replaces the plugin) and the real
// Kubernetes e2e CSI mock plugin serving under such a driver's name (startExtraPlugin):
// - `cinder.csi.openstack.org` (replaces kubernetes.io/cinder): a claim of a StorageClass naming
//   the in-tree plugin is provisioned by the CSI driver and gets an in-tree PV (`cinder` source,
//   provisioned-by the in-tree name), the PV Go's external-provisioner v6.3.0 writes for the same
//   claim; deleting the claim deletes the PV and, through the PV's CSI translation, the volume;
//   the CSI calls are counted with `migrated="true"`.
// - `pd.csi.storage.gke.io` (replaces kubernetes.io/gce-pd): the mock's volume ids are not GCE
//   PD handles (projects/<p>/zones/<z>/disks/<name>), so the created volume cannot be described
//   as a gcePersistentDisk PV: the failure is reported on the claim and every volume created for
//   it is deleted again (Go would keep it). A real gcePersistentDisk PV needs a GCE-shaped handle,
//   which this mock never returns; the unit tests cover that translation.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { launch, unavailable } from '../../src/faults/implementations.js';
import { PV_FINALIZER, ProvisionerKit, sleep } from './support.js';

const NS = 'e2e-prov-migration';
const CINDER = 'cinder.csi.openstack.org';
const CINDER_IN_TREE = 'kubernetes.io/cinder';
const GCE = 'pd.csi.storage.gke.io';
const GCE_IN_TREE = 'kubernetes.io/gce-pd';
const SC_CINDER = 'e2e-prov-migration-cinder';
const SC_GCE = 'e2e-prov-migration-gce-pd';
const GA_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const BETA_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
const MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const FLAGS = ['--retry-interval-start=200ms', '--retry-interval-max=2s'];

interface Driver {
  plugin: ExtraPlugin;
  csi: CsiConnection;
  provisioner?: ManagedProcess;
  metricsPort: number;
}

const kit = new ProvisionerKit(NS);
const drivers = new Map<string, Driver>();

async function startDriver(name: string): Promise<Driver> {
  const info = clusterInfo();
  const plugin = await startExtraPlugin(info, clusterKube(), { driverName: name });
  const csi = new CsiConnection({ address: plugin.endpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
  const d: Driver = { plugin, csi, metricsPort: await freePort() };
  drivers.set(name, d);
  await csi.start();
  d.provisioner = await startSidecarChecked(info, 'provisioner', {
    csiAddress: plugin.socket,
    logName: `csi-provisioner-migration-${name}.log`,
    extraArgs: [...FLAGS, `--http-endpoint=127.0.0.1:${d.metricsPort}`],
  });
  return d;
}

async function volumeIds(d: Driver): Promise<string[]> {
  return (await d.csi.controller.listVolumes({})).entries.map((e) => e.volume?.volume_id ?? '');
}

/** `csi_sidecar_operations_seconds_count` of one Controller method by its `migrated` label value. */
async function callCounts(d: Driver, method: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('csi_sidecar_operations_seconds_count{') || !line.includes(`method_name="/csi.v1.Controller/${method}"`)) continue;
    const migrated = /migrated="(\w+)"/.exec(line)?.[1] ?? 'none';
    out[migrated] = (out[migrated] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** What two provisioners writing the "same" PV may differ in: names, UIDs, the volume id, versions. */
function comparable(pv: V1PersistentVolume): unknown {
  const { cinder, claimRef, ...spec } = pv.spec ?? {};
  return {
    annotations: pv.metadata?.annotations,
    labels: pv.metadata?.labels,
    finalizers: [...(pv.metadata?.finalizers ?? [])].sort(),
    spec: { ...spec, cinder: { ...cinder, volumeID: '<id>' }, claimRef: { ...claimRef, name: '<claim>', uid: '<uid>', resourceVersion: '<rv>' } },
  };
}

beforeAll(async () => {
  await kit.createNamespace();
  await kit.storageClass(SC_CINDER, CINDER_IN_TREE, { parameters: { availability: 'nova', fsType: 'ext4' } });
  await kit.storageClass(SC_GCE, GCE_IN_TREE, { parameters: { type: 'pd-ssd' } });
  await startDriver(CINDER);
  await startDriver(GCE);
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(30_000).catch(() => undefined);
  for (const d of drivers.values()) {
    await d.provisioner?.stop();
    d.csi.dispose();
    await d.plugin.stop();
  }
  await kit.cleanup();
}, 90_000);

describe('csi-provisioner CSI migration', () => {
  let ours: V1PersistentVolume | undefined;

  it('provisions a claim of an in-tree StorageClass as an in-tree PV, provisioned by the in-tree name', async () => {
    const d = drivers.get(CINDER)!;
    const before = await volumeIds(d);
    await kit.claim('cinder-data', SC_CINDER);
    const pv = await kit.boundPv('cinder-data', 30_000);
    const claim = await kit.readClaim('cinder-data');
    // kube-controller-manager 1.36 names the CSI driver on the claim (both keys), no migrated-to.
    expect(claim.metadata?.annotations).toMatchObject({ [GA_PROVISIONER]: CINDER, [BETA_PROVISIONER]: CINDER });
    expect(claim.metadata?.annotations?.[MIGRATED_TO]).toBeUndefined();

    expect(pv.spec?.csi).toBeUndefined();
    const id = pv.spec?.cinder?.volumeID;
    expect(pv.spec?.cinder).toEqual({ volumeID: id, fsType: 'ext4' });
    expect((await volumeIds(d)).filter((v) => !before.includes(v))).toEqual([id]);
    expect(pv.metadata?.annotations?.[PROVISIONED_BY]).toBe(CINDER_IN_TREE);
    expect(pv.metadata?.finalizers).toContain(PV_FINALIZER);
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    // The mock's topology comes back in the PV (the Cinder translation keeps other keys as they are).
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'io.kubernetes.storage.mock/node', operator: 'In', values: ['some-mock-node'] }] },
    ]);
    // kube-controller-manager marks the in-tree PV as migrated to the driver and stands down.
    ours = await waitFor('PV marked migrated-to', async () => {
      const cur = await kit.readPv(pv.metadata!.name!);
      return cur?.metadata?.annotations?.[MIGRATED_TO] === CINDER ? cur : undefined;
    });
    expect(await callCounts(d, 'CreateVolume')).toEqual({ true: 1 });
    expect(await kit.warnings('cinder-data')).toEqual([]);
  });

  it('writes the PV Go external-provisioner v6.3.0 writes for the same claim', async () => {
    const why = await unavailable('go', 'provisioner');
    if (why) throw new Error(`Go csi-provisioner unavailable: ${why}`);
    expect(ours).toBeDefined();
    const d = drivers.get(CINDER)!;
    // One provisioner per driver at a time: ours steps aside while Go's provisions a twin claim.
    await d.provisioner!.stop();
    const go = await launch(clusterInfo(), 'go', 'provisioner', { csiAddress: d.plugin.socket, extraArgs: FLAGS, logName: 'go-csi-provisioner-migration.log' });
    let theirs: V1PersistentVolume;
    try {
      await kit.claim('cinder-go', SC_CINDER);
      await kit.boundPv('cinder-go', 30_000);
      theirs = await waitFor('Go PV marked migrated-to', async () => {
        const c = await kit.readClaim('cinder-go');
        const cur = await kit.readPv(c.spec!.volumeName!);
        return cur?.metadata?.annotations?.[MIGRATED_TO] === CINDER && cur.status?.phase === 'Bound' ? cur : undefined;
      });
    } finally {
      await go.stop();
      d.provisioner = await startSidecarChecked(clusterInfo(), 'provisioner', {
        csiAddress: d.plugin.socket,
        logName: `csi-provisioner-migration-${CINDER}-2.log`,
        extraArgs: [...FLAGS, `--http-endpoint=127.0.0.1:${d.metricsPort}`],
      });
    }
    const current = await kit.readPv(ours!.metadata!.name!);
    expect(comparable(current!)).toEqual(comparable(theirs));
  });

  it('deleting the claims deletes the in-tree PVs and, through their CSI translation, the volumes', async () => {
    const d = drivers.get(CINDER)!;
    const pvs = await kit.pvs();
    const ids = pvs.map((pv) => pv.spec?.cinder?.volumeID);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(await volumeIds(d)).toContain(id);
    await kit.deleteClaim('cinder-data');
    await kit.deleteClaim('cinder-go');
    await waitFor('PVs deleted', async () => (await kit.pvs()).length === 0, { timeoutMs: 30_000 });
    const left = await volumeIds(d);
    for (const id of ids) expect(left).not.toContain(id);
    for (const pv of pvs) expect(await kit.warnings(pv.metadata!.name!, 'PersistentVolume')).toEqual([]);
    expect(await callCounts(d, 'DeleteVolume')).toEqual({ true: 2 });
  });

  it('deletes a volume it cannot describe as an in-tree PV instead of leaking it', async () => {
    const d = drivers.get(GCE)!;
    const before = await volumeIds(d);
    await kit.claim('gce-disk', SC_GCE);
    const failure = await waitFor('ProvisioningFailed', async () => (await kit.warnings('gce-disk')).find((e) => e.reason === 'ProvisioningFailed'));
    // The translation error as Go's csi-translation-lib words it.
    expect(failure.message).toBe('failed to get id components.Got: 1, wanted 6 components or more. ');
    // Retried with backoff like any final error; each attempt's volume is deleted again.
    await waitFor('a second attempt', async () => ((await callCounts(d, 'CreateVolume')).true ?? 0) >= 2, { timeoutMs: 20_000 });
    expect((await kit.readClaim('gce-disk')).status?.phase).toBe('Pending');
    await kit.deleteClaim('gce-disk');
    // Once the claim is gone nothing new is created, and everything created was deleted.
    const settled = await waitFor(
      'every created volume deleted',
      async () => {
        const c = await callCounts(d, 'CreateVolume');
        const del = await callCounts(d, 'DeleteVolume');
        return c.true !== undefined && c.true === del.true ? c.true : undefined;
      },
      { timeoutMs: 20_000 },
    );
    await sleep(2500);
    expect((await callCounts(d, 'CreateVolume')).true).toBe(settled);
    expect((await volumeIds(d)).filter((v) => !before.includes(v))).toEqual([]);
    expect((await kit.pvs()).filter((pv) => pv.spec?.claimRef?.name === 'gce-disk')).toEqual([]);
  });
});
