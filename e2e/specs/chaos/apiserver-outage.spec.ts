// Row 6 of beyond.md §5.2 for csi-provisioner, ours and Go: kube-apiserver crashes and stays away
// for longer than the leader-election renew deadline while CreateVolume calls are running. The volumes get
// created on the backend but their PVs cannot be saved; the sidecar loses its Lease and exits
// (both implementations do, by design); a claim is deleted as soon as the API is back, before
// the sidecar restarts. Runs on a control plane of its own, because it stops kube-apiserver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ControlPlane } from '../../src/harness/control-plane.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, deleteClaims } from '../../src/faults/chaos.js';
import { IMPLS, exitWithin, launch, unavailable } from '../../src/faults/implementations.js';
import { resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-apiserver';
const SC = 'chaos-outage';
const LEASE = 'io-kubernetes-storage-mock';

let cp: ControlPlane;
let env: ChaosEnv;
const mine: ScenarioResult[] = [];

beforeAll(async () => {
  cp = new ControlPlane({ nodes: 1, keep: process.env.CSI_E2E_KEEP === '1', log: () => undefined });
  await cp.start();
  env = await ChaosEnv.create(cp.info, NS);
  await env.storageClass(SC);
}, 180_000);

afterAll(async () => {
  process.stderr.write(`\napiserver outage chaos results:\n${resultsTable(mine)}\n`);
  await env?.dispose();
  await cp?.stop();
}, 60_000);

describe.each(IMPLS)('%s csi-provisioner', (impl) => {
  it('row 6: kube-apiserver down past the renew deadline during a burst; claim deleted when it is back; restart', async () => {
    const scenario = 'kube-apiserver killed mid-burst, back after 5 s + start-up (Lease lost, PV saves failing), 1 of 4 claims deleted when back, restart';
    const why = await unavailable(impl, 'provisioner');
    if (why) {
      mine.push(env.skipped('6', scenario, impl, why));
      return;
    }
    const info = cp.info;
    await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`).catch(() => undefined);
    const args = [
      '--retry-interval-start=200ms',
      '--retry-interval-max=2s',
      '--timeout=10s',
      '--leader-election',
      `--leader-election-namespace=${NS}`,
      '--leader-election-lease-duration=6s',
      '--leader-election-renew-deadline=4s',
      '--leader-election-retry-period=1s',
    ];
    const before = await env.snapshot();
    const proxy = await env.proxy(`r6-${impl}`);
    await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 2500 } });
    const first: ManagedProcess = env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args, logName: `chaos-r6-${impl}-1.log` }));
    await waitFor('the sidecar leads', async () => {
      const l = await env.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
      return !!l.spec?.holderIdentity;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const names = Array.from({ length: 4 }, (_, i) => `r6-${impl}-${i}`);
    for (const n of names) await env.createClaim(n, SC);
    await waitFor('CreateVolume calls in flight', async () => (await proxy.calls('CreateVolume')).length >= 3, { timeoutMs: 30_000, intervalMs: 50 });

    // A crash, not a graceful stop: requests in flight (the PV saves) fail at once.
    const downAt = Date.now();
    cp.processes.find((p) => p.name === 'kube-apiserver')?.killNow();
    await cp.restartApiserver(5000);
    const backAt = Date.now();
    // Both implementations give up leading and exit once the renew deadline has passed.
    const code = await exitWithin(first, 30_000).catch(() => 'still running' as const);
    if (code === 'still running') first.killNow();
    await deleteClaims(env, names.slice(0, 1));
    // Gone, not just terminating (kube-controller-manager, recovering too, removes pvc-protection):
    // the Go provisioner would otherwise still provision the terminating claim and so clean up.
    await waitFor('the deleted claim gone', async () => (await env.claim(names[0]!)) === undefined, { timeoutMs: 90_000, intervalMs: 200 });
    await proxy.clearRules();

    const since = Date.now();
    env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args, logName: `chaos-r6-${impl}-2.log` }));
    await env.waitBound(names.slice(1), 90_000);
    const boundMs = Date.now() - since;
    await deleteClaims(env, names.slice(1));
    const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: impl === 'ours' ? 60_000 : 10_000, journalNamespace: NS });
    const notes = `API down ${((backAt - downAt) / 1000).toFixed(1)} s; first process: exit ${code}; the 3 kept claims Bound ${boundMs} ms after the restart (kube-controller-manager recovering too)`;
    const r = await env.finish({ row: '6', scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff);
    mine.push(r);
    await env.stopAll();
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      expect(code).toBe(1);
    }
  }, 240_000);
});
