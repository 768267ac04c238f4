// csi-provisioner killed (SIGKILL: no clean-up) in the middle of a burst of claims and started
// again, against the real control plane and a private instance of the real Kubernetes e2e CSI
// mock plugin: every claim must end Bound to its own PV, and the backend must hold exactly the
// volumes of those PVs — none without a PV (a volume created just before the kill whose PV was
// never saved must be found again, not made twice or left behind), none missing, none twice.
//
// Size: CSI_E2E_BURST claims (default 40; the figure is 200 — run with CSI_E2E_BURST=200
// for the full burst; the default keeps the suite fast on a 2-core machine). The first process
// runs with few workers and a low --kube-api-qps so that the kill lands mid-burst; the spec
// checks that it did.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { burstSize, forEach, ProvisionerKit } from './support.js';

const NS = 'e2e-prov-restart-burst';
const DRIVER = 'e2e-prov-burst.csi.test';
const SC = 'e2e-prov-burst';
const BURST = burstSize(40);

const kit = new ProvisionerKit(NS);
let plugin: ExtraPlugin | undefined;
let csi: CsiConnection | undefined;
const sidecars: ManagedProcess[] = [];

const burstClaims = async () => (await kit.claims()).filter((c) => c.metadata!.name!.startsWith('burst-'));

async function backendNames(): Promise<string[]> {
  const res = await csi!.controller.listVolumes({});
  return res.entries.map((e) => e.volume?.volume_context?.name ?? '').filter((n) => !n.startsWith('Mock Volume'));
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC, DRIVER);
  plugin = await startExtraPlugin(info, kit.kube, { driverName: DRIVER, csiDriverSpec: { attachRequired: false } });
  csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
  await csi.start();
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(120_000).catch(() => undefined);
  for (const s of sidecars) await s.stop();
  csi?.dispose();
  await plugin?.stop();
  await kit.cleanup();
}, 180_000);

describe(`csi-provisioner killed mid-burst of ${BURST} claims`, () => {
  it('a new process binds every claim, with exactly one backend volume per PV', async () => {
    const info = clusterInfo();
    const first = await startSidecarChecked(info, 'provisioner', {
      csiAddress: plugin!.socket,
      logName: 'csi-provisioner-burst-1.log',
      extraArgs: ['--worker-threads=4', '--kube-api-qps=8', '--kube-api-burst=8', '--retry-interval-start=200ms', '--retry-interval-max=2s'],
    });
    sidecars.push(first);
    await forEach(BURST, 10, (i) => kit.claim(`burst-${i}`, SC));
    const threshold = Math.max(2, Math.floor(BURST / 4));
    await waitFor(`${threshold} PVs saved`, async () => (await kit.pvs()).length >= threshold, { timeoutMs: 120_000, intervalMs: 100 });
    first.killNow();
    await first.exited;

    // The kill landed mid-burst: some claims have PVs, others not yet.
    const pvsAtKill = (await kit.pvs()).length;
    const backendAtKill = await backendNames();
    expect(pvsAtKill).toBeLessThan(BURST);

    const second = await startSidecarChecked(info, 'provisioner', {
      csiAddress: plugin!.socket,
      logName: 'csi-provisioner-burst-2.log',
      extraArgs: ['--kube-api-qps=100', '--kube-api-burst=200', '--retry-interval-start=200ms', '--retry-interval-max=2s'],
    });
    sidecars.push(second);

    const claims = await waitFor(`all ${BURST} claims Bound`, async () => {
      const all = await burstClaims();
      return all.length === BURST && all.every((c) => c.status?.phase === 'Bound') ? all : undefined;
    }, { timeoutMs: 150_000, intervalMs: 500 });

    const pvs = new Map((await kit.pvs()).map((pv) => [pv.metadata!.name!, pv]));
    expect(pvs.size).toBe(BURST);
    for (const c of claims) {
      const pv = pvs.get(c.spec!.volumeName!);
      expect({ claim: c.metadata!.name, pv: pv?.metadata?.name, uid: pv?.spec?.claimRef?.uid, handleOk: !!pv?.spec?.csi?.volumeHandle }).toEqual({
        claim: c.metadata!.name,
        pv: `pvc-${c.metadata!.uid}`,
        uid: c.metadata!.uid,
        handleOk: true,
      });
    }
    const backend = await backendNames();
    // Exactly the PVs' volumes: none without a PV, none missing, none twice.
    expect([...backend].sort()).toEqual([...pvs.keys()].sort());
    // Every volume made before the kill is among them (found again, not made anew).
    for (const name of backendAtKill) expect(pvs.has(name)).toBe(true);
    const handles = [...pvs.values()].map((pv) => pv.spec!.csi!.volumeHandle);
    expect(new Set(handles).size).toBe(handles.length);
  });
});
