// csi-provisioner when the plugin misbehaves, against the real control plane:
//
//  - a plugin whose CreateVolume takes longer than --timeout and then completes (the backend
//    finishes the work the sidecar gave up waiting for), while the claim is deleted meanwhile:
//    exactly one backend volume is created and none remains. This needs a fault injected, so the
//    plugin is the project's fake CSI plugin.
//  - the real Kubernetes e2e CSI mock plugin (a private instance) killed and restarted in the
//    middle of a burst: the sidecar exits on the lost connection, as the Go sidecars do, and is
//    restarted as kubelet would restart its container; every claim must end Bound and no
//    backend volume may be left without a PV. The mock keeps its volumes in memory, so the
//    volumes created before the restart are gone with it: their PVs point at nothing (a real
//    backend keeps them). The spec checks that only PVs made before the restart are affected.
//
// Size of the burst: CSI_E2E_BURST (default 40; the figure is 200).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, type FakeRequest } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { registerDriver, startExtraPlugin, unregisterDriver, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { burstSize, forEach, ProvisionerKit, sleep, Supervisor } from './support.js';

const NS = 'e2e-prov-faults';
const SLOW_DRIVER = 'e2e-prov-slow.csi.test';
const MOCK_DRIVER = 'e2e-prov-restart.csi.test';
const SC_SLOW = 'e2e-prov-faults-slow';
const SC_MOCK = 'e2e-prov-faults-mock';
const BURST = burstSize(40);
/** How long the slow backend needs for a volume; the sidecar's --timeout is 2 s. */
const BACKEND_MS = 5000;

const kit = new ProvisionerKit(NS);
let slow: FakeCsiPlugin;
let slowSidecar: ManagedProcess | undefined;
let mock: ExtraPlugin | undefined;
let supervisor: Supervisor | undefined;
let metricsPort = 0;

/** Backend volumes the slow plugin created, by name (a retry that finds the volume creates none). */
const created = new Map<string, number>();

/**
 * The slow backend: the first CreateVolume for a name starts the work, which takes BACKEND_MS
 * whatever the caller does; calls for the same name meanwhile wait for it; later calls find the
 * volume and answer at once.
 */
function slowBackend(plugin: FakeCsiPlugin): void {
  const running = new Map<string, Promise<void>>();
  plugin.setHandler('CreateVolume', async (req: FakeRequest<'CreateVolume'>) => {
    if (!plugin.store.byName(req.name)) {
      let work = running.get(req.name);
      if (!work) {
        work = sleep(BACKEND_MS).then(() => {
          plugin.store.createVolume(req);
          created.set(req.name, (created.get(req.name) ?? 0) + 1);
          running.delete(req.name);
        });
        running.set(req.name, work);
      }
      await work;
    }
    return plugin.store.createVolume(req);
  });
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC_SLOW, SLOW_DRIVER);
  await kit.storageClass(SC_MOCK, MOCK_DRIVER);
  slow = await FakeCsiPlugin.start({ driverName: SLOW_DRIVER, controllerCapabilities: ['CREATE_DELETE_VOLUME'] });
  slowBackend(slow);
  metricsPort = await freePort();
  await registerDriver(info, kit.kube, SLOW_DRIVER, { attachRequired: false });
  slowSidecar = await startSidecarChecked(info, 'provisioner', {
    csiAddress: slow.socketPath,
    logName: 'csi-provisioner-slow.log',
    extraArgs: ['--timeout=2s', '--retry-interval-start=200ms', '--retry-interval-max=2s', `--http-endpoint=127.0.0.1:${metricsPort}`],
  });
  mock = await startExtraPlugin(info, kit.kube, { driverName: MOCK_DRIVER, csiDriverSpec: { attachRequired: false } });
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(90_000).catch(() => undefined);
  await slowSidecar?.stop();
  await supervisor?.stop();
  await unregisterDriver(clusterInfo(), kit.kube, SLOW_DRIVER);
  await slow?.dispose();
  await mock?.stop();
  await kit.cleanup();
}, 150_000);

describe('csi-provisioner with a misbehaving plugin', () => {
  it('a CreateVolume that outlives --timeout while the claim is deleted: one backend volume, cleaned up', async () => {
    const claim = await kit.claim('slow', SC_SLOW);
    const name = `pvc-${claim.metadata!.uid}`;
    await slow.waitForCalls('CreateVolume', 1, 10_000);
    await kit.deleteClaim('slow');
    await waitFor('claim gone', async () => !(await kit.claims()).some((c) => c.metadata!.name === 'slow'));
    // The sidecar gave up on the first call (DeadlineExceeded) and kept asking with the same request.
    await waitFor('the backend finished the volume', () => created.get(name) === 1, { timeoutMs: 20_000 });
    await waitFor('the late volume deleted again', () => !slow.store.byName(name) && slow.callsTo('DeleteVolume').some((c) => c.outcome === 'OK'), { timeoutMs: 60_000 });
    const calls = slow.callsTo('CreateVolume').filter((c) => c.request.name === name);
    expect(calls.length).toBeGreaterThan(1);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/csi_sidecar_operations_seconds_count\{[^}]*method_name="\/csi.v1.Controller\/CreateVolume",grpc_status_code="DeadlineExceeded"\} [1-9]/);
    // Every retry asked for the same volume.
    expect(new Set(calls.map((c) => JSON.stringify(c.request, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))).size).toBe(1);
    expect(created.get(name)).toBe(1);
    expect(slow.store.all().filter((v) => v.name === name)).toEqual([]);
    await waitFor('no PV left for it', async () => (await kit.readPv(name)) === undefined);
  });

  it(`the plugin killed and restarted mid-burst of ${BURST}: every claim Bound, no backend volume without a PV`, async () => {
    const info = clusterInfo();
    const plugin = mock!;
    supervisor = new Supervisor((generation) =>
      startSidecarChecked(info, 'provisioner', {
        csiAddress: plugin.socket,
        logName: `csi-provisioner-plugin-restart-${generation}.log`,
        // Few workers and slow API writes, so the restart lands mid-burst: some volumes created
        // and saved, some created and not saved, some not asked for yet.
        extraArgs: ['--worker-threads=4', '--kube-api-qps=10', '--kube-api-burst=10', '--retry-interval-start=200ms', '--retry-interval-max=2s'],
      }),
    );
    await supervisor.run();
    const first = supervisor.current!;
    await forEach(BURST, 8, (i) => kit.claim(`burst-${i}`, SC_MOCK));
    const threshold = Math.max(2, Math.floor(BURST / 4));
    await waitFor(`${threshold} burst claims Bound`, async () => (await kit.claims()).filter((c) => c.metadata!.name!.startsWith('burst-') && c.status?.phase === 'Bound').length >= threshold, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    const pvsAtRestart = new Set((await kit.pvs()).map((pv) => pv.metadata!.name!));
    await plugin.restart();
    // The sidecar noticed (exit on connection loss) and was started again.
    await first.exited;
    const restartedAt = Date.now();
    expect(pvsAtRestart.size).toBeLessThan(BURST);

    const claims = await waitFor(`all ${BURST} claims Bound`, async () => {
      const all = (await kit.claims()).filter((c) => c.metadata!.name!.startsWith('burst-'));
      return all.length === BURST && all.every((c) => c.status?.phase === 'Bound') ? all : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    expect(supervisor.restarts).toBeGreaterThanOrEqual(1);

    const pvs = new Map((await kit.pvs()).map((pv) => [pv.metadata!.name!, pv]));
    for (const c of claims) {
      const pv = pvs.get(c.spec!.volumeName!);
      expect({ claim: c.metadata!.name, pv: pv?.metadata?.name, uid: pv?.spec?.claimRef?.uid }).toEqual({
        claim: c.metadata!.name,
        pv: `pvc-${c.metadata!.uid}`,
        uid: c.metadata!.uid,
      });
    }
    const csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
    try {
      await csi.start();
      const backend = (await csi.controller.listVolumes({})).entries.map((e) => e.volume?.volume_context?.name ?? '').filter((n) => !n.startsWith('Mock Volume'));
      // No backend volume without a PV, none twice.
      expect(backend.filter((n) => !pvs.has(n))).toEqual([]);
      expect(new Set(backend).size).toBe(backend.length);
      // PVs without a volume: only those whose volume the old plugin process took with it.
      const lost = [...pvs.values()].filter((pv) => !backend.includes(pv.metadata!.name!));
      for (const name of pvsAtRestart) expect(lost.map((pv) => pv.metadata!.name)).toContain(name);
      // (creationTimestamp has whole seconds)
      for (const pv of lost) expect(new Date(pv.metadata!.creationTimestamp!).getTime()).toBeLessThanOrEqual(restartedAt + 1000);
    } finally {
      csi.dispose();
    }
  });
});
