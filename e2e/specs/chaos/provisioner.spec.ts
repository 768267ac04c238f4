// Chaos for csi-provisioner, ours and the Go one, on the real control plane: the fault-injecting
// CSI proxy sits between the sidecar and the mock plugin, the sidecar is killed, restarted or
// stopped mid-burst, and after every scenario the plugin's volume list must match the PVs (no
// leaked volume, no PV without a volume, no finalizer or journal entry left behind). Ours is
// asserted; the Go sidecar's outcome is recorded and reported (see README.md here).
//
// CSI_CHAOS_EXTENDED=1 adds slower scenarios (rows 2 and 15 of beyond.md §5.2).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { get as httpGet } from 'node:http';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { freePort } from '../../src/harness/ports.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, deleteClaims, pvNameOf } from '../../src/faults/chaos.js';
import { IMPLS, exitWithin, launch, privateHostnames, unavailable, type Impl } from '../../src/faults/implementations.js';
import { readResults, resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-provisioner';
const SC = 'chaos-prov';
const EXTENDED = process.env.CSI_CHAOS_EXTENDED === '1';
/** The provisioner's leader-election Lease: the driver name, sanitized (Go and ours alike). */
const LEASE = 'io-kubernetes-storage-mock';

let env: ChaosEnv;
const mine: ScenarioResult[] = [];

/** The same flags for both implementations; the journal (ours) lives in NS. */
function args(extra: string[] = []): string[] {
  return ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s', `--leader-election-namespace=${NS}`, '--worker-threads=10', ...extra];
}

/** How long a clean state may take: ours must get there; for Go this is how long we watch. */
const settleMs = (impl: Impl, ours: number) => (impl === 'ours' ? ours : 8_000);

async function available(impl: Impl, row: string, scenario: string): Promise<boolean> {
  const why = await unavailable(impl, 'provisioner');
  if (why) mine.push(env.skipped(row, scenario, impl, why));
  return !why;
}

function expectCleanIfOurs(impl: Impl, r: ScenarioResult): void {
  mine.push(r);
  if (impl === 'ours') expect(r.outcome).toBe('clean');
}

/** The status of GET /readyz on 127.0.0.1:port (0: no answer). */
function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

async function leaseHolder(): Promise<string | undefined> {
  try {
    const l = await env.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
    return l.spec?.holderIdentity ?? '';
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  env = await ChaosEnv.create(clusterInfo(), NS);
  await env.storageClass(SC);
}, 120_000);

afterEach(async () => {
  await env.stopAll();
  await env.forceCleanup();
});

afterAll(async () => {
  process.stderr.write(`\ncsi-provisioner chaos results:\n${resultsTable(mine)}\n(all runs so far: ${readResults().length} rows)\n`);
  await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC}`).catch(() => undefined);
  await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`).catch(() => undefined);
  await env.dispose();
}, 60_000);

describe.each(IMPLS)('%s csi-provisioner under faults', (impl) => {
  it('row 1: SIGKILL after CreateVolume reached the driver, before the PV was saved; claim deleted; restart (#486)', async () => {
    const scenario = 'SIGKILL between CreateVolume and PV save, claim deleted, restart';
    if (!(await available(impl, '1', scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const proxy = await env.proxy(`r1-${impl}`);
    // The driver creates the volume; the sidecar never hears back.
    await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenHang' } });
    const first = env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r1-${impl}-1.log` }));
    const name = `r1-${impl}`;
    const pvName = pvNameOf(await env.createClaim(name, SC));
    await proxy.waitForCall('CreateVolume', (c) => c.keys.includes(pvName) && c.backend === 'OK');
    first.signal('SIGKILL');
    await first.exited;
    await env.deleteClaim(name);
    await waitFor('claim gone', async () => (await env.claim(name)) === undefined, { timeoutMs: 30_000 });
    await proxy.clearRules();

    const since = Date.now();
    env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r1-${impl}-2.log` }));
    const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: settleMs(impl, 30_000), journalNamespace: NS });
    expectCleanIfOurs(impl, await env.finish({ row: '1', scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
  });

  it('row 3 (churn approximation of #1469): claims deleted while CreateVolume runs and right after binding', async () => {
    const scenario = 'create/delete churn: deleted during CreateVolume and right after Bound';
    if (!(await available(impl, '3', scenario))) return;
    const before = await env.snapshot();
    const proxy = await env.proxy(`r3-${impl}`);
    await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 400 } });
    env.own(await launch(env.info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r3-${impl}.log` }));
    const names = Array.from({ length: 8 }, (_, i) => `r3-${impl}-${i}`);
    for (const [i, n] of names.entries()) {
      await env.createClaim(n, SC);
      if (i % 2 === 1) await env.deleteClaim(n);
    }
    const kept = names.filter((_, i) => i % 2 === 0);
    for (const n of kept) {
      await env.waitBound([n]);
      await env.deleteClaim(n);
    }
    const since = Date.now();
    const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: settleMs(impl, 30_000), journalNamespace: NS });
    expectCleanIfOurs(impl, await env.finish({ row: '3', scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
  });

  it('row 5: the plugin goes away for 3 s during a burst (the sidecar exits), claims deleted meanwhile, restart', async () => {
    const scenario = 'plugin socket gone 3 s mid-burst, 2 of 6 claims deleted meanwhile, restart';
    if (!(await available(impl, '5', scenario))) return;
    const info = env.info;
    const before = await env.snapshot();
    const proxy = await env.proxy(`r5-${impl}`);
    await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 1500 } });
    const first = env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r5-${impl}-1.log` }));
    const names = Array.from({ length: 6 }, (_, i) => `r5-${impl}-${i}`);
    for (const n of names) await env.createClaim(n, SC);
    await waitFor('CreateVolume calls in flight', async () => (await proxy.calls('CreateVolume')).length >= 4, { timeoutMs: 30_000, intervalMs: 50 });

    const lossAt = Date.now();
    const restarting = proxy.restart(3000);
    const code = await exitWithin(first, 15_000);
    const exitMs = Date.now() - lossAt;
    // The user deletes two claims while the plugin is away.
    await deleteClaims(env, names.slice(0, 2));
    await restarting;
    await proxy.clearRules();

    const since = Date.now();
    env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r5-${impl}-2.log` }));
    await env.waitBound(names.slice(2), 60_000);
    const boundMs = Date.now() - since;
    await deleteClaims(env, names.slice(2));
    const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: settleMs(impl, 45_000), journalNamespace: NS });
    const notes = `exited with ${code} ${exitMs} ms after the loss; the 4 kept claims Bound ${boundMs} ms after the restart`;
    expectCleanIfOurs(impl, await env.finish({ row: '5', scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
    if (impl === 'ours') expect(code).toBe(1);
  });

  it('row 7: SIGTERM to the leader mid-burst with a standby replica; a claim deleted meanwhile', async () => {
    const twoReplicas = privateHostnames();
    const scenario = twoReplicas ? 'SIGTERM to the leader mid-burst, standby takes over, 1 of 6 claims deleted meanwhile' : 'SIGTERM mid-burst, restart, 1 of 6 claims deleted meanwhile (one replica: no unshare here)';
    if (!(await available(impl, '7', scenario))) return;
    const info = env.info;
    await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`).catch(() => undefined);
    const le = ['--leader-election', '--leader-election-lease-duration=8s', '--leader-election-renew-deadline=6s', '--leader-election-retry-period=1s'];
    const before = await env.snapshot();
    const proxy = await env.proxy(`r7-${impl}`);
    await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 2000 } });
    const idA = `${impl}-a`;
    const idB = `${impl}-b`;
    const httpPort = await freePort();
    const a = env.own(
      await launch(info, impl, 'provisioner', {
        csiAddress: proxy.address,
        extraArgs: args([...le, `--http-endpoint=127.0.0.1:${httpPort}`]),
        logName: `chaos-r7-${impl}-a.log`,
        ...(twoReplicas ? { hostname: idA } : {}),
      }),
    );
    if (twoReplicas) await waitFor('replica a leads', async () => (await leaseHolder()) === idA, { timeoutMs: 30_000, intervalMs: 100 });
    else await waitFor('the replica leads', async () => !!(await leaseHolder()), { timeoutMs: 30_000, intervalMs: 100 });
    if (twoReplicas) env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(le), logName: `chaos-r7-${impl}-b.log`, hostname: idB }));
    const names = Array.from({ length: 6 }, (_, i) => `r7-${impl}-${i}`);
    for (const n of names) await env.createClaim(n, SC);
    await waitFor('CreateVolume calls in flight', async () => (await proxy.calls('CreateVolume')).length >= 3, { timeoutMs: 30_000, intervalMs: 50 });

    const readyBefore = await readyz(httpPort);
    const termAt = Date.now();
    a.signal('SIGTERM');
    // Readiness must turn false at the start of the drain (beyond.md §4.2), while the process still serves.
    let notReadyMs: number | undefined;
    let readyDuring = readyBefore;
    while (a.running && Date.now() - termAt < 10_000) {
      readyDuring = await readyz(httpPort);
      if (readyDuring !== 200) {
        if (readyDuring !== 0) notReadyMs = Date.now() - termAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await env.deleteClaim(names[0]!);
    const code = await exitWithin(a, 45_000);
    const exitMs = Date.now() - termAt;
    const holderAtExit = await leaseHolder();
    let takeoverMs: number | undefined;
    if (twoReplicas) {
      await waitFor('replica b leads', async () => (await leaseHolder()) === idB, { timeoutMs: 60_000, intervalMs: 100 });
      takeoverMs = Date.now() - termAt;
    } else {
      env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(le), logName: `chaos-r7-${impl}-a2.log` }));
    }
    await env.waitBound(names.slice(1), 90_000);
    const boundMs = Date.now() - termAt;
    await proxy.clearRules();
    await deleteClaims(env, names.slice(1));
    const { diff, convergedMs } = await env.settle(before, { since: termAt, timeoutMs: settleMs(impl, 45_000), journalNamespace: NS });
    const notes =
      `leader exited with ${code} ${exitMs} ms after SIGTERM, Lease holder then ${JSON.stringify(holderAtExit)}` +
      (takeoverMs !== undefined ? `; standby leading ${takeoverMs} ms after SIGTERM` : '') +
      `; the other claims Bound ${boundMs} ms after SIGTERM` +
      `; /readyz ${readyBefore} before SIGTERM, ${notReadyMs !== undefined ? `${readyDuring} ${notReadyMs} ms after it` : `never not-ready while draining (last answer ${readyDuring === 0 ? 'none: port closed' : readyDuring})`}`;
    expectCleanIfOurs(impl, await env.finish({ row: '7', scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
    if (impl === 'ours') {
      // Graceful: the drain finished in time (exit 0) and the Lease was handed over, not left to expire.
      expect(code).toBe(0);
      expect(twoReplicas ? ['', idB] : ['']).toContain(holderAtExit);
      expect(readyBefore).toBe(200);
      expect(readyDuring).toBe(503);
      expect(notReadyMs).toBeLessThan(2000);
    }
  });

  if (EXTENDED) {
    it('row 2: CreateVolume always outlives --timeout (succeeds in the background); claim deleted after two retries', async () => {
      const scenario = 'CreateVolume times out twice (done in background), claim deleted, then answers';
      if (!(await available(impl, '2', scenario))) return;
      const before = await env.snapshot();
      const proxy = await env.proxy(`r2-${impl}`);
      const rule = await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenError', code: 'DeadlineExceeded' } });
      env.own(await launch(env.info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r2-${impl}.log` }));
      const name = `r2-${impl}`;
      await env.createClaim(name, SC);
      await waitFor('two timed-out CreateVolume calls', async () => (await proxy.calls('CreateVolume')).filter((c) => c.outcome === 'DeadlineExceeded').length >= 2, { timeoutMs: 30_000 });
      await env.deleteClaim(name);
      await waitFor('one more retry', async () => (await proxy.calls('CreateVolume')).filter((c) => c.outcome === 'DeadlineExceeded').length >= 3, { timeoutMs: 30_000 });
      await proxy.removeRule(rule);
      const since = Date.now();
      const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: settleMs(impl, 30_000), journalNamespace: NS });
      expectCleanIfOurs(impl, await env.finish({ row: '2', scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
    });

    it('row 15: the driver answers Aborted for a while; claims deleted and re-created under the same names', async () => {
      const scenario = 'Aborted for 6 s while claims are deleted and re-created with the same names';
      if (!(await available(impl, '15', scenario))) return;
      const before = await env.snapshot();
      const proxy = await env.proxy(`r15-${impl}`);
      const rule = await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenError', code: 'Aborted', message: 'operation already exists' } });
      env.own(await launch(env.info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: args(), logName: `chaos-r15-${impl}.log` }));
      const names = Array.from({ length: 3 }, (_, i) => `r15-${impl}-${i}`);
      for (const n of names) await env.createClaim(n, SC);
      await new Promise((r) => setTimeout(r, 2000));
      for (const n of names) await env.deleteClaim(n);
      await waitFor('claims gone', async () => (await env.claims()).filter((c) => names.includes(c.metadata?.name ?? '')).length === 0, { timeoutMs: 30_000 });
      for (const n of names) await env.createClaim(n, SC);
      await new Promise((r) => setTimeout(r, 4000));
      await proxy.removeRule(rule);
      await env.waitBound(names, 60_000);
      const since = Date.now();
      await deleteClaims(env, names);
      const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: settleMs(impl, 30_000), journalNamespace: NS });
      expectCleanIfOurs(impl, await env.finish({ row: '15', scenario, impl, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff));
    });
  }
});
