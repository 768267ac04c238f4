// Chaos for csi-attacher and csi-resizer, ours and the Go ones: the sidecar is killed (SIGKILL)
// after ControllerPublishVolume / ControllerExpandVolume reached the driver but before it heard
// back, then restarted. The attachment must end up undone once the pod is gone (no volume left
// published, no VolumeAttachment stuck with our finalizer); the expansion must end up recorded
// in the PV and the claim with the size the backend has. Ours is asserted; Go is reported.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { PersistentVolume, PersistentVolumeClaim, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, GiB } from '../../src/faults/chaos.js';
import { IMPLS, launch, unavailable, type Impl } from '../../src/faults/implementations.js';
import { backendVolumes } from '../../src/faults/inventory.js';
import { resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-attach-resize';
const SC_EXPAND = 'chaos-expandable';

let env: ChaosEnv;
const mine: ScenarioResult[] = [];
const common = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s'];

async function available(impl: Impl, sidecar: 'attacher' | 'resizer', row: string, scenario: string): Promise<boolean> {
  const why = await unavailable(impl, sidecar);
  if (why) mine.push(env.skipped(row, scenario, impl, why));
  return !why;
}

async function vaFor(pv: string): Promise<VolumeAttachment | undefined> {
  const list = await env.request<{ items: VolumeAttachment[] }>('GET', '/apis/storage.k8s.io/v1/volumeattachments');
  return list.items.find((va) => va.spec?.source?.persistentVolumeName === pv);
}

/** Polls `check` (a description of what is still wrong, or undefined) until it is undefined or the time is up. */
async function converge(check: () => Promise<string | undefined>, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let wrong = await check();
  while (wrong !== undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    wrong = await check();
  }
  return wrong;
}

beforeAll(async () => {
  env = await ChaosEnv.create(clusterInfo(), NS);
  await env.storageClass(SC_EXPAND, { allowVolumeExpansion: true, reclaimPolicy: 'Retain' });
}, 120_000);

afterEach(async () => {
  await env.stopAll();
  await env.deleteAllPods();
  await env.forceCleanup();
});

afterAll(async () => {
  process.stderr.write(`\ncsi-attacher / csi-resizer chaos results:\n${resultsTable(mine)}\n`);
  await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC_EXPAND}`).catch(() => undefined);
  await env.dispose();
}, 60_000);

describe.each(IMPLS)('%s sidecars under faults', (impl) => {
  it('attacher SIGKILLed after ControllerPublishVolume reached the driver; pod deleted; restart', async () => {
    const row = 'A';
    const scenario = 'attacher SIGKILL mid-attach (publish done on the backend), pod deleted, restart';
    if (!(await available(impl, 'attacher', row, scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const name = `att-${impl}`;
    const { pv, handle } = await env.staticClaim(name, '');
    const proxy = await env.proxy(`att-${impl}`);
    await proxy.addRule({ methods: ['ControllerPublishVolume'], action: { type: 'forwardThenHang' } });
    const first = env.own(await launch(info, impl, 'attacher', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-att-${impl}-1.log` }));
    await env.pod(`${name}-pod`, info.nodeNames[0]!, name);
    await proxy.waitForCall('ControllerPublishVolume', (c) => c.keys.includes(handle) && c.backend === 'OK', 60_000);
    first.signal('SIGKILL');
    await first.exited;
    await env.deletePod(`${name}-pod`);
    await proxy.clearRules();

    const since = Date.now();
    env.own(await launch(info, impl, 'attacher', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-att-${impl}-2.log` }));
    const wrong = await converge(async () => {
      const va = await vaFor(pv);
      if (va) return `VolumeAttachment ${va.metadata?.name} still there (attached=${va.status?.attached}, finalizers ${JSON.stringify(va.metadata?.finalizers ?? [])})`;
      const vol = (await backendVolumes(env.csi)).find((v) => v.id === handle);
      if (vol && vol.publishedTo.length > 0) return `volume ${handle} still published to ${vol.publishedTo.join(', ')}`;
      return undefined;
    }, impl === 'ours' ? 60_000 : 20_000);
    const convergedMs = wrong === undefined ? Date.now() - since : undefined;
    const diff = await env.diff(before);
    const r = await env.finish({ row, scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, wrong);
    mine.push(r);
    await env.removeStatic(name, pv, handle);
    if (impl === 'ours') expect(r.outcome).toBe('clean');
  });

  it('resizer SIGKILLed after ControllerExpandVolume reached the driver; restart', async () => {
    const row = 'R';
    const scenario = 'resizer SIGKILL mid-expand (expanded on the backend), restart';
    if (!(await available(impl, 'resizer', row, scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const name = `rsz-${impl}`;
    const { pv, handle } = await env.staticClaim(name, SC_EXPAND);
    const proxy = await env.proxy(`rsz-${impl}`);
    await proxy.addRule({ methods: ['ControllerExpandVolume'], action: { type: 'forwardThenHang' } });
    const first = env.own(await launch(info, impl, 'resizer', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-rsz-${impl}-1.log` }));
    await env.request('PATCH', env.claimPath(name), { spec: { resources: { requests: { storage: '2Gi' } } } }, 'application/merge-patch+json');
    await proxy.waitForCall('ControllerExpandVolume', (c) => c.keys.includes(handle) && c.backend === 'OK', 60_000);
    first.signal('SIGKILL');
    await first.exited;
    await proxy.clearRules();

    const since = Date.now();
    env.own(await launch(info, impl, 'resizer', { csiAddress: proxy.address, extraArgs: common, logName: `chaos-rsz-${impl}-2.log` }));
    const wrong = await converge(async () => {
      const vol = (await backendVolumes(env.csi)).find((v) => v.id === handle);
      const pvObj = await env.request<PersistentVolume>('GET', `/api/v1/persistentvolumes/${pv}`);
      const claim = (await env.claim(name)) as PersistentVolumeClaim;
      const problems: string[] = [];
      if (vol?.capacityBytes !== 2n * GiB) problems.push(`backend capacity ${vol?.capacityBytes}`);
      if (pvObj.spec?.capacity?.storage !== '2Gi') problems.push(`PV capacity ${String(pvObj.spec?.capacity?.storage)}`);
      if (claim.status?.capacity?.storage !== '2Gi') problems.push(`claim status capacity ${String(claim.status?.capacity?.storage)}`);
      const pending = Object.entries(claim.status?.allocatedResourceStatuses ?? {});
      if (pending.length > 0) problems.push(`claim resize status ${JSON.stringify(Object.fromEntries(pending))}`);
      return problems.length ? problems.join(', ') : undefined;
    }, impl === 'ours' ? 60_000 : 20_000);
    const convergedMs = wrong === undefined ? Date.now() - since : undefined;
    const diff = await env.diff(before);
    const r = await env.finish({ row, scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, wrong);
    mine.push(r);
    await env.removeStatic(name, pv, handle);
    if (impl === 'ours') expect(r.outcome).toBe('clean');
  });
});
