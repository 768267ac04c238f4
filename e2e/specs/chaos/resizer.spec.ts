// Chaos for csi-resizer, ours and the Go one (external-resizer v2.2.0):
// - row 11 of beyond.md §5.2 (external-resizer#474): ControllerExpandVolume times out
//   (DeadlineExceeded) although the backend expanded, then the next attempts fail for real. While
//   expansion is failing, neither a success event nor a finished status may be recorded; once the
//   driver answers again, everything converges.
// - row 12 (UpCloud csi#118): an offline-expansion driver, a resize requested while the volume is
//   attached (refused, then held back by --handle-volume-inuse-error), then the pod goes away and
//   the volume is detached: the resize must proceed without a restart. The driver is the shared
//   FakeCsiPlugin advertising OFFLINE expansion (the e2e mock plugin with
//   --disable-online-expansion never forgets that a volume was published, so it refuses every
//   later expansion — see e2e/specs/resizer/offline-expansion.spec.ts); our attacher attaches and
//   detaches for both implementations.
// Ours is asserted; Go is recorded (README.md here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { GrpcCode, type PersistentVolume, type PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, grpcStatus } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, GiB } from '../../src/faults/chaos.js';
import { LATE_ROW_IMPLS, launch as launchImpl, unavailable, type Impl } from '../../src/faults/implementations.js';
import { backendVolumes } from '../../src/faults/inventory.js';
import { resultsTable, type ScenarioResult } from '../../src/faults/results.js';
import { ResizerKit, type CoreEvent } from '../resizer/resizer-kit.js';

const NS = 'chaos-resizer';
const SC_EXPAND = 'chaos-rsz-expandable';
const OFFLINE_DRIVER = 'chaos-offline.csi.e2e';
const SC_OFFLINE = 'chaos-rsz-offline';

let env: ChaosEnv;
let kit: ResizerKit;
const mine: ScenarioResult[] = [];
const common = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s'];

async function available(impl: Impl, row: string, scenario: string): Promise<boolean> {
  const why = await unavailable(impl, 'resizer');
  if (why) mine.push(env.skipped(row, scenario, impl, why));
  return !why;
}

const resizerEvents = async (claim: string, reason: string): Promise<CoreEvent[]> => (await kit.events(claim)).filter((e) => e.reason === reason);

beforeAll(async () => {
  env = await ChaosEnv.create(clusterInfo(), NS);
  kit = new ResizerKit(env.info, NS);
  await env.storageClass(SC_EXPAND, { allowVolumeExpansion: true, reclaimPolicy: 'Retain' });
}, 120_000);

afterEach(async () => {
  await env.stopAll();
  await env.deleteAllPods();
  await env.forceCleanup();
});

afterAll(async () => {
  process.stderr.write(`\ncsi-resizer chaos results:\n${resultsTable(mine)}\n`);
  await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC_EXPAND}`).catch(() => undefined);
  await env.dispose();
  kit.client.dispose();
}, 60_000);

describe.each(LATE_ROW_IMPLS)('%s csi-resizer under faults', (impl) => {
  it('row 11: ControllerExpandVolume DeadlineExceeded (done on the backend), then real failures: no success recorded until it succeeds', async () => {
    const row = '11';
    const scenario = 'ControllerExpandVolume DeadlineExceeded once (expanded on the backend), then Internal errors for 6 s, then answers';
    if (!(await available(impl, row, scenario))) return;
    const before = await env.snapshot();
    const name = `r11-${impl}`;
    const { pv, handle } = await env.staticClaim(name, SC_EXPAND);
    const proxy = await env.proxy(`r11-${impl}`);
    await proxy.addRule({ methods: ['ControllerExpandVolume'], times: 1, action: { type: 'forwardThenError', code: 'DeadlineExceeded' } });
    const failing = await proxy.addRule({ methods: ['ControllerExpandVolume'], action: { type: 'error', code: 'Internal', message: 'chaos: backend expansion failed' } });
    env.own(await launchImpl(env.info, impl, 'resizer', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-r11-${impl}.log` }));
    await env.request('PATCH', env.claimPath(name), { spec: { resources: { requests: { storage: '2Gi' } } } }, 'application/merge-patch+json');
    await waitFor('a real failure after the timeout', async () => (await proxy.calls('ControllerExpandVolume')).filter((c) => c.outcome === 'Internal').length >= 2, { timeoutMs: 30_000, intervalMs: 100 });
    // Failures keep coming for a while: nothing may claim success meanwhile.
    const problems: string[] = [];
    const failUntil = Date.now() + 6000;
    while (Date.now() < failUntil) {
      const ok = await resizerEvents(name, 'VolumeResizeSuccessful');
      const pvObj = await env.request<PersistentVolume>('GET', `/api/v1/persistentvolumes/${pv}`);
      const claim = (await env.claim(name)) as PersistentVolumeClaim;
      if (ok.length > 0) problems.push(`VolumeResizeSuccessful event while expansion fails ("${ok[0]!.message}")`);
      if (pvObj.spec?.capacity?.storage !== '1Gi') problems.push(`PV capacity ${String(pvObj.spec?.capacity?.storage)} while expansion fails`);
      if (claim.status?.capacity?.storage !== '1Gi') problems.push(`claim status capacity ${String(claim.status?.capacity?.storage)} while expansion fails`);
      if (problems.length) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const failedEvents = await resizerEvents(name, 'VolumeResizeFailed');
    const claimDuring = (await env.claim(name)) as PersistentVolumeClaim;
    const during = `during the failures: ${failedEvents.length} VolumeResizeFailed event(s), resize status ${JSON.stringify(claimDuring.status?.allocatedResourceStatuses ?? {})}, conditions ${(claimDuring.status?.conditions ?? []).map((c) => c.type).join(',') || 'none'}`;
    await proxy.removeRule(failing);

    const since = Date.now();
    const wrong = await waitFor('expansion recorded', async () => {
      const vol = (await backendVolumes(env.csi)).find((v) => v.id === handle);
      const pvObj = await env.request<PersistentVolume>('GET', `/api/v1/persistentvolumes/${pv}`);
      const claim = (await env.claim(name)) as PersistentVolumeClaim;
      return vol?.capacityBytes === 2n * GiB && pvObj.spec?.capacity?.storage === '2Gi' && claim.status?.capacity?.storage === '2Gi' && !claim.status?.allocatedResourceStatuses;
    }, { timeoutMs: impl === 'ours' ? 60_000 : 20_000, intervalMs: 250 }).then(() => undefined, (err: Error) => err.message);
    const convergedMs = wrong === undefined ? Date.now() - since : undefined;
    const succeeded = (await resizerEvents(name, 'VolumeResizeSuccessful')).length;
    const diff = await env.diff(before);
    const problem = [...new Set(problems), ...(wrong ? [`did not converge: ${wrong}`] : [])].join('; ') || undefined;
    const notes = `${during}; ${succeeded} VolumeResizeSuccessful after recovery`;
    const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, problem);
    mine.push(r);
    await env.removeStatic(name, pv, handle);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      expect(failedEvents.length).toBeGreaterThan(0);
      expect(succeeded).toBeGreaterThan(0);
    }
  });

  it('row 12: offline-expansion driver, resize while attached, then detach: the resize proceeds without a restart', async () => {
    const row = '12';
    const scenario = 'offline-only driver: resize requested while attached (refused, in-use gate), pod deleted and volume detached';
    if (!(await available(impl, row, scenario))) return;
    const info = env.info;
    const plugin = await FakeCsiPlugin.start({
      driverName: OFFLINE_DRIVER,
      pluginCapabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'OFFLINE' } }],
      store: { nodeExpansionRequired: false },
    });
    plugin.setHandler('ControllerExpandVolume', (req) => {
      const published = [...(plugin.store.get(req.volume_id)?.publications.keys() ?? [])];
      if (published.length > 0) throw grpcStatus(GrpcCode.FailedPrecondition, `volume ${req.volume_id} is published to ${published.join(', ')}; offline expansion only`);
      return plugin.store.expand(req);
    });
    const name = `r12-${impl}`;
    const pv = `chaos-r12-${impl}`;
    const handle = `vol-r12-${impl}`;
    try {
      await registerDriver(info, clusterKube(), OFFLINE_DRIVER, { attachRequired: true });
      await env.storageClass(SC_OFFLINE, { provisioner: OFFLINE_DRIVER, allowVolumeExpansion: true, reclaimPolicy: 'Retain' });
      plugin.store.seed({ volumeId: handle, name, capacityBytes: GiB });
      await kit.boundClaim({ name, pv, driver: OFFLINE_DRIVER, handle, storageClassName: SC_OFFLINE });
      env.own(await startSidecarChecked(info, 'attacher', { csiAddress: plugin.socketPath, logName: `chaos-r12-${impl}-attacher.log`, extraArgs: common }));
      env.own(await launchImpl(info, impl, 'resizer', { csiAddress: plugin.address, extraArgs: [...common, '--handle-volume-inuse-error=true'], logName: `chaos-r12-${impl}.log` }));
      await kit.pod(`${name}-pod`, info.nodeNames[0]!, name);
      await waitFor('volume attached', async () => (await kit.volumeAttachmentFor(pv))?.status?.attached === true, { timeoutMs: 60_000 });
      await kit.request(name, '2Gi');
      await kit.waitForEvent(name, (e) => e.reason === 'VolumeResizeFailed', 'VolumeResizeFailed while attached', 60_000);
      // Let the in-use verdict settle in (several syncs while the pod exists).
      await new Promise((r) => setTimeout(r, 3000));
      const refusedCalls = plugin.callsTo('ControllerExpandVolume').length;

      await kit.deletePod(`${name}-pod`);
      await waitFor('volume detached', async () => (await kit.volumeAttachmentFor(pv)) === undefined, { timeoutMs: 60_000 });
      const since = Date.now();
      const wrong = await waitFor('claim expanded to 2Gi', async () => (await kit.getPvc(name)).status?.capacity?.storage === '2Gi', {
        timeoutMs: impl === 'ours' ? 60_000 : 45_000,
        intervalMs: 250,
      }).then(() => undefined, () => `not expanded ${impl === 'ours' ? 60 : 45} s after the detach (stale in-use verdict; capacity ${String(plugin.store.get(handle)?.capacityBytes)})`);
      const convergedMs = wrong === undefined ? Date.now() - since : undefined;
      const pvCap = (await kit.getPv(pv)).spec?.capacity?.storage;
      const problem = wrong ?? (pvCap !== '2Gi' ? `PV capacity ${String(pvCap)}` : undefined);
      const notes = `${refusedCalls} refused ControllerExpandVolume call(s) while attached`;
      const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, await env.diff(await env.snapshot()), problem);
      mine.push(r);
      if (impl === 'ours') {
        expect(r.outcome).toBe('clean');
        expect(plugin.store.get(handle)?.capacityBytes).toBe(2n * GiB);
      }
    } finally {
      await env.stopAll();
      await kit.deletePod(`${name}-pod`);
      await env.forceCleanup();
      for (const path of [`/api/v1/persistentvolumes/${pv}`]) {
        await env.request('PATCH', path, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
        await env.request('DELETE', path).catch(() => undefined);
      }
      const va = await kit.volumeAttachmentFor(pv);
      if (va?.metadata?.name) {
        const path = `/apis/storage.k8s.io/v1/volumeattachments/${va.metadata.name}`;
        await env.request('PATCH', path, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
        await env.request('DELETE', path).catch(() => undefined);
      }
      await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC_OFFLINE}`).catch(() => undefined);
      await unregisterDriver(info, clusterKube(), OFFLINE_DRIVER);
      plugin.dispose();
    }
  }, 240_000);
});
