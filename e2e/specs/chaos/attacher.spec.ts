// Chaos for csi-attacher (with csi-provisioner for row 10), ours and the Go ones:
// - row 9, second half (external-attacher#587): the API write that removes the VolumeAttachment
//   finalizer after a successful ControllerUnpublishVolume fails once (the API fault proxy answers
//   500). The Go attacher retries the whole detach and unpublishes a volume that is no longer
//   published; ours must not call ControllerUnpublishVolume again, and must converge.
// - row 10 (external-provisioner#1217): a provisioned PV (Delete reclaim, the provisioner's
//   finalizer) that is attached (the attacher's finalizer) loses its pod and its claim at the
//   same moment: both finalizers must go, in the order the work allows, no PV stuck Terminating,
//   no volume left on the backend.
// - row 8 (external-attacher#761): N detaches whose ControllerUnpublishVolume takes seconds
//   (proxy delay), then new attaches: the attaches must not wait behind the detach backlog.
//   N and the delay are small here (CSI_CHAOS_EXTENDED=1: larger), with --worker-threads=2 for
//   both implementations so that the Go attacher's single pool is visibly saturated.
// Ours is asserted; Go is recorded (README.md here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, pvNameOf } from '../../src/faults/chaos.js';
import { LATE_ROW_IMPLS, launch, unavailable, type Impl } from '../../src/faults/implementations.js';
import { backendVolumes } from '../../src/faults/inventory.js';
import { resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-attacher';
const SC = 'chaos-att-delete';
const EXTENDED = process.env.CSI_CHAOS_EXTENDED === '1';
const ATTACHER_FINALIZER = 'external-attacher/io-kubernetes-storage-mock';
const PROVISIONER_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';

let env: ChaosEnv;
const mine: ScenarioResult[] = [];
const common = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=10s'];
const statics: { name: string; pv: string; handle: string }[] = [];

async function available(impl: Impl, sidecars: ('attacher' | 'provisioner')[], row: string, scenario: string): Promise<boolean> {
  for (const s of sidecars) {
    const why = await unavailable(impl, s);
    if (why) {
      mine.push(env.skipped(row, scenario, impl, why));
      return false;
    }
  }
  return true;
}

async function vas(): Promise<VolumeAttachment[]> {
  return (await env.request<{ items: VolumeAttachment[] }>('GET', '/apis/storage.k8s.io/v1/volumeattachments')).items;
}

async function vaFor(pv: string): Promise<VolumeAttachment | undefined> {
  return (await vas()).find((va) => va.spec?.source?.persistentVolumeName === pv);
}

async function pv(name: string): Promise<PersistentVolume | undefined> {
  return env.request<PersistentVolume>('GET', `/api/v1/persistentvolumes/${name}`).catch(() => undefined);
}

beforeAll(async () => {
  env = await ChaosEnv.create(clusterInfo(), NS);
  await env.storageClass(SC);
}, 120_000);

afterEach(async () => {
  await env.deleteAllPods();
  // Let the attacher still running detach what it can before it stops.
  await waitFor('no VolumeAttachment of this spec', async () => {
    const names = new Set(statics.map((s) => s.pv));
    return (await vas()).every((va) => !names.has(va.spec?.source?.persistentVolumeName ?? ''));
  }, { timeoutMs: 60_000 }).catch(() => undefined);
  await env.stopAll();
  for (const va of await vas()) {
    if (!statics.some((s) => s.pv === va.spec?.source?.persistentVolumeName)) continue;
    const path = `/apis/storage.k8s.io/v1/volumeattachments/${va.metadata?.name}`;
    await env.request('PATCH', path, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
    await env.request('DELETE', path).catch(() => undefined);
  }
  for (const s of statics.splice(0)) {
    await env.request('PATCH', `/api/v1/persistentvolumes/${s.pv}`, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
    await env.removeStatic(s.name, s.pv, s.handle);
  }
  await env.forceCleanup();
}, 180_000);

afterAll(async () => {
  process.stderr.write(`\ncsi-attacher chaos results:\n${resultsTable(mine)}\n`);
  await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC}`).catch(() => undefined);
  await env.dispose();
}, 60_000);

describe.each(LATE_ROW_IMPLS)('%s csi-attacher under faults', (impl) => {
  it('row 9 (second half): the finalizer-removal write after ControllerUnpublishVolume fails once: no second unpublish, converges', async () => {
    const row = '9';
    const scenario = 'API fault proxy fails (500) the VA finalizer-removal patch once, after ControllerUnpublishVolume succeeded';
    if (!(await available(impl, ['attacher'], row, scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const name = `r9-${impl}`;
    const s = { name, ...(await env.staticClaim(name, '')) };
    statics.push(s);
    const proxy = await env.proxy(`r9-${impl}`);
    const api = await env.apiProxy();
    env.own(await launch(info, impl, 'attacher', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-r9-${impl}.log`, kubeconfig: api.kubeconfig(info, `r9-${impl}`) }));
    await env.pod(`${name}-pod`, info.nodeNames[0]!, name);
    await waitFor('attached', async () => (await vaFor(s.pv))?.status?.attached === true, { timeoutMs: 60_000, intervalMs: 100 });
    const rule = api.addRule({ method: 'PATCH|PUT', path: '^/apis/storage\\.k8s\\.io/v1/volumeattachments/[^/]+$', times: 1, action: { type: 'fail', status: 500 } });

    const since = Date.now();
    await env.deletePod(`${name}-pod`);
    const wrong = await waitFor('detached and the VolumeAttachment gone', async () => {
      const vol = (await backendVolumes(env.csi)).find((v) => v.id === s.handle);
      return (await vaFor(s.pv)) === undefined && vol !== undefined && vol.publishedTo.length === 0;
    }, { timeoutMs: impl === 'ours' ? 60_000 : 30_000, intervalMs: 100 }).then(() => undefined, (err: Error) => err.message);
    const convergedMs = wrong === undefined ? Date.now() - since : undefined;
    const unpublishes = (await proxy.calls('ControllerUnpublishVolume')).filter((c) => c.keys.includes(s.handle));
    const injected = api.acted(rule);
    const problems: string[] = [];
    if (injected !== 1) problems.push(`the fault did not fire (${injected})`);
    if (unpublishes.length > 1) problems.push(`${unpublishes.length} ControllerUnpublishVolume calls (${unpublishes.length - 1} against a volume already unpublished)`);
    if (wrong) problems.push(`did not converge: ${wrong}`);
    const notes = `${unpublishes.length} ControllerUnpublishVolume call(s) for one detach`;
    const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, await env.diff(before), problems.join('; ') || undefined);
    mine.push(r);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      expect(unpublishes.map((c) => c.outcome)).toEqual(['OK']);
    }
  });

  it('row 10: attached PV with the attacher and provisioner finalizers; pod and claim deleted together (Delete reclaim): no PV stuck Terminating', async () => {
    const row = '10';
    const scenario = 'provisioned + attached PV (both finalizers), pod and claim deleted at once, Delete reclaim';
    if (!(await available(impl, ['attacher', 'provisioner'], row, scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const provArgs = [...common, `--leader-election-namespace=${NS}`];
    env.own(await launch(info, impl, 'provisioner', { csiAddress: info.csiEndpoint, extraArgs: provArgs, logName: `chaos-r10-${impl}-provisioner.log` }));
    env.own(await launch(info, impl, 'attacher', { csiAddress: info.csiEndpoint, extraArgs: common, logName: `chaos-r10-${impl}-attacher.log` }));
    const name = `r10-${impl}`;
    const pvName = pvNameOf(await env.createClaim(name, SC));
    await env.waitBound([name]);
    await env.pod(`${name}-pod`, info.nodeNames[0]!, name);
    await waitFor('attached, both finalizers on the PV', async () => {
      const p = await pv(pvName);
      const f = p?.metadata?.finalizers ?? [];
      return (await vaFor(pvName))?.status?.attached === true && f.includes(ATTACHER_FINALIZER) && f.includes(PROVISIONER_FINALIZER);
    }, { timeoutMs: 60_000, intervalMs: 100 });

    const since = Date.now();
    await env.deletePod(`${name}-pod`);
    await env.deleteClaim(name);
    // Watch the PV's finalizers go (polled): which one first, and when the PV is gone.
    const gone: Record<string, number> = {};
    let terminatingSince: number | undefined;
    const limit = impl === 'ours' ? 60_000 : 45_000;
    const wrong = await waitFor('PV gone', async () => {
      const p = await pv(pvName);
      const f = p?.metadata?.finalizers ?? [];
      if (p?.metadata?.deletionTimestamp && terminatingSince === undefined) terminatingSince = Date.now();
      for (const fin of [ATTACHER_FINALIZER, PROVISIONER_FINALIZER]) if (!f.includes(fin) && gone[fin] === undefined) gone[fin] = Date.now() - since;
      return p === undefined;
    }, { timeoutMs: limit, intervalMs: 100 }).then(() => undefined, () => `PV ${pvName} still there after ${limit / 1000} s${terminatingSince ? ' (Terminating)' : ''}`);
    const convergedMs = wrong === undefined ? Date.now() - since : undefined;
    const { diff } = await env.settle(before, { since, timeoutMs: 10_000, journalNamespace: NS });
    const order = Object.entries(gone).sort((a, b) => a[1] - b[1]).map(([f, ms]) => `${f.startsWith('external-attacher') ? 'attacher' : 'provisioner'} finalizer gone at ${(ms / 1000).toFixed(1)} s`);
    const notes = order.join(', ') || 'no finalizer removed';
    const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, wrong);
    mine.push(r);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      // The attacher's finalizer goes first: the provisioner deletes the volume only once it is detached.
      expect(Object.keys(gone)).toEqual(expect.arrayContaining([ATTACHER_FINALIZER, PROVISIONER_FINALIZER]));
    }
  }, 180_000);

  it(`row 8: ${EXTENDED ? 16 : 6} detaches with a slow ControllerUnpublishVolume, then 3 attaches: the attaches do not wait behind the backlog`, async () => {
    const row = '8';
    const detaches = EXTENDED ? 16 : 6;
    const delayMs = EXTENDED ? 6000 : 4000;
    const workers = 2;
    const scenario = `${detaches} detaches with ControllerUnpublishVolume taking ${delayMs / 1000} s (--worker-threads=${workers}), then 3 new attaches`;
    if (!(await available(impl, ['attacher'], row, scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const old: { name: string; pv: string; handle: string }[] = [];
    const fresh: { name: string; pv: string; handle: string }[] = [];
    for (let i = 0; i < detaches; i++) {
      const name = `r8-${impl}-d${i}`;
      const s = { name, ...(await env.staticClaim(name, '')) };
      statics.push(s);
      old.push(s);
    }
    for (let i = 0; i < 3; i++) {
      const name = `r8-${impl}-a${i}`;
      const s = { name, ...(await env.staticClaim(name, '')) };
      statics.push(s);
      fresh.push(s);
    }
    const proxy = await env.proxy(`r8-${impl}`);
    env.own(await launch(info, impl, 'attacher', { csiAddress: proxy.address, extraArgs: [...common, `--worker-threads=${workers}`], logName: `chaos-r8-${impl}.log` }));
    for (const [i, s] of old.entries()) await env.pod(`${s.name}-pod`, info.nodeNames[i % info.nodeNames.length]!, s.name);
    await waitFor(`${detaches} attached`, async () => {
      const all = await vas();
      return old.every((s) => all.find((va) => va.spec?.source?.persistentVolumeName === s.pv)?.status?.attached === true);
    }, { timeoutMs: 90_000, intervalMs: 200 });
    await proxy.addRule({ methods: ['ControllerUnpublishVolume'], action: { type: 'delay', ms: delayMs } });

    const detachStart = Date.now();
    for (const s of old) await env.deletePod(`${s.name}-pod`);
    await waitFor('the detach backlog running', async () => (await proxy.calls('ControllerUnpublishVolume')).length >= Math.min(workers, detaches), { timeoutMs: 30_000, intervalMs: 50 });
    const attachStart = Date.now();
    for (const [i, s] of fresh.entries()) await env.pod(`${s.name}-pod`, info.nodeNames[i % info.nodeNames.length]!, s.name);
    const attachMs: number[] = [];
    await waitFor('the new attaches', async () => {
      const all = await vas();
      for (const s of fresh) {
        const va = all.find((v) => v.spec?.source?.persistentVolumeName === s.pv);
        if (va?.status?.attached && !attachMs[fresh.indexOf(s)]) attachMs[fresh.indexOf(s)] = Date.now() - attachStart;
      }
      return fresh.every((_, i) => attachMs[i] !== undefined);
    }, { timeoutMs: 180_000, intervalMs: 100 });
    const slowestAttach = Math.max(...attachMs);
    await waitFor('the backlog detached', async () => {
      const all = await vas();
      return old.every((s) => !all.some((va) => va.spec?.source?.persistentVolumeName === s.pv));
    }, { timeoutMs: 180_000, intervalMs: 200 });
    const backlogMs = Date.now() - detachStart;
    await proxy.clearRules();
    for (const s of fresh) await env.deletePod(`${s.name}-pod`);
    const { diff } = await env.settle(before, { since: Date.now(), timeoutMs: 30_000 });
    const notes = `new attaches done after ${attachMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s; the detach backlog took ${(backlogMs / 1000).toFixed(1)} s`;
    const r = await env.finish({ row, scenario, impl, notes, convergedMs: slowestAttach }, diff);
    mine.push(r);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      // Bounded: the attaches finish well before the detach backlog (≥ detaches/workers × delay) drains.
      const backlogFloor = Math.ceil(detaches / workers) * delayMs;
      expect(backlogMs).toBeGreaterThanOrEqual(backlogFloor * 0.9);
      expect(slowestAttach).toBeLessThan(backlogFloor / 2);
    }
  }, 360_000);
});
