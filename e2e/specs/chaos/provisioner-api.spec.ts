// Chaos for csi-provisioner around the API server and its objects, ours and the Go one
// (external-provisioner v6.3.0), on the shared control plane. The sidecar reaches the apiserver
// through the API fault proxy (e2e/src/faults/api-proxy.ts) or as a restricted identity:
// - row 6, "slow apiserver" variant: every request of the leader is held 8 s (longer than the
//   renew deadline) in the middle of a burst. The leader must lose its Lease and stop (exit)
//   without a split brain: once a standby replica leads, nothing the old leader sent may still
//   reach the plugin or the API (its held requests are dropped with it), and nothing leaks.
// - row 14: a ServiceAccount whose role lacks `create` on persistentvolumes (the chart's rules
//   otherwise). The missing permission must be named (event on the claim or a log line), the
//   process must keep running (no crash loop), and the volume made meanwhile must not leak once
//   the claim is deleted.
// - row 4 (external-provisioner#1449): a claim restored from a VolumeSnapshot; CreateVolume times
//   out although the volume was made; the snapshot is then deleted (held by a test finalizer)
//   and the claim deleted: no leaked volume, and the snapshot is not left blocked by our
//   source-protection finalizer. No snapshot controller runs here: the spec creates the ready
//   VolumeSnapshot/VolumeSnapshotContent pair itself (as e2e/specs/provisioner/data-sources does).
// Ours is asserted; Go is recorded (README.md here).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { waitFor } from '../../src/harness/wait.js';
import { ChaosEnv, deleteClaims, GiB } from '../../src/faults/chaos.js';
import { kubeconfigYaml } from '../../src/faults/api-proxy.js';
import { LATE_ROW_IMPLS, exitWithin, launch, privateHostnames, unavailable, type Impl } from '../../src/faults/implementations.js';
import { resultsTable, type ScenarioResult } from '../../src/faults/results.js';

const NS = 'chaos-prov-api';
const SC = 'chaos-prov-api';
const LEASE = 'io-kubernetes-storage-mock';
const SNAP = 'snapshot.storage.k8s.io/v1';
const SOURCE_PROTECTION = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';
const TEST_HOLD = 'chaos.csi-sidecars-ts.io/hold';

let env: ChaosEnv;
const mine: ScenarioResult[] = [];
const base = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=5s', `--leader-election-namespace=${NS}`];

async function available(impl: Impl, row: string, scenario: string): Promise<boolean> {
  const why = await unavailable(impl, 'provisioner');
  if (why) mine.push(env.skipped(row, scenario, impl, why));
  return !why;
}

async function leaseHolder(): Promise<string | undefined> {
  try {
    const l = await env.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`);
    return l.spec?.holderIdentity ?? '';
  } catch {
    return undefined;
  }
}

async function events(name: string): Promise<{ reason?: string; type?: string; message?: string }[]> {
  const list = await env.request<{ items: { reason?: string; type?: string; message?: string }[] }>('GET', `/api/v1/namespaces/${NS}/events`, undefined);
  return list.items.filter((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name === name);
}

beforeAll(async () => {
  env = await ChaosEnv.create(clusterInfo(), NS);
  await env.storageClass(SC);
}, 120_000);

afterEach(async () => {
  await env.stopAll();
  await env.forceCleanup();
}, 120_000);

afterAll(async () => {
  process.stderr.write(`\ncsi-provisioner API chaos results:\n${resultsTable(mine)}\n`);
  await env.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${SC}`).catch(() => undefined);
  await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`).catch(() => undefined);
  await env.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/chaos-restricted-provisioner').catch(() => undefined);
  await env.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/chaos-restricted-provisioner').catch(() => undefined);
  await env.dispose();
}, 60_000);

describe.each(LATE_ROW_IMPLS)('%s csi-provisioner: API faults', (impl) => {
  it('row 6 (slow apiserver): requests held past the renew deadline mid-burst; the leader steps down without a split brain', async () => {
    const row = '6';
    const twoReplicas = privateHostnames();
    const scenario = `every request of the leader held 8 s by the API proxy mid-burst (renew deadline 4 s)${twoReplicas ? ', a standby replica takes over' : ', restart'}`;
    if (!(await available(impl, row, scenario))) return;
    const info = env.info;
    await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`).catch(() => undefined);
    const le = ['--leader-election', '--leader-election-lease-duration=6s', '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s'];
    const before = await env.snapshot();
    const proxyA = await env.proxy(`r6s-${impl}-a`);
    const proxyB = await env.proxy(`r6s-${impl}-b`);
    await proxyA.addRule({ methods: ['CreateVolume'], action: { type: 'delay', ms: 1500 } });
    const api = await env.apiProxy();
    const idA = `${impl}-slow-a`;
    const idB = `${impl}-slow-b`;
    const a = env.own(
      await launch(info, impl, 'provisioner', {
        csiAddress: proxyA.address,
        extraArgs: [...base, ...le],
        logName: `chaos-r6s-${impl}-a.log`,
        kubeconfig: api.kubeconfig(info, `r6s-${impl}`),
        ...(twoReplicas ? { hostname: idA } : {}),
      }),
    );
    await waitFor('replica a leads', async () => {
      const h = await leaseHolder();
      return twoReplicas ? h === idA : !!h;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    // The standby runs from the start (straight to the apiserver, its own CSI proxy), as in a Deployment.
    if (twoReplicas) {
      env.own(await launch(info, impl, 'provisioner', { csiAddress: proxyB.address, extraArgs: [...base, ...le], logName: `chaos-r6s-${impl}-b.log`, hostname: idB }));
    }
    const names = Array.from({ length: 6 }, (_, i) => `r6s-${impl}-${i}`);
    for (const n of names) await env.createClaim(n, SC);
    await waitFor('CreateVolume calls in flight', async () => (await proxyA.calls('CreateVolume')).length >= 2, { timeoutMs: 30_000, intervalMs: 50 });

    const slowAt = Date.now();
    api.addRule({ path: '.*', action: { type: 'delay', ms: 8000 } });
    await env.deleteClaim(names[0]!);
    const code = await exitWithin(a, 40_000).catch(() => 'still running' as const);
    const exitMs = Date.now() - slowAt;
    let takeoverAt: number | undefined;
    if (twoReplicas) {
      await waitFor('replica b leads', async () => (await leaseHolder()) === idB, { timeoutMs: 60_000, intervalMs: 100 });
      takeoverAt = Date.now();
    } else {
      if (code === 'still running') a.killNow();
      api.clearRules();
      env.own(await launch(info, impl, 'provisioner', { csiAddress: proxyB.address, extraArgs: [...base, ...le], logName: `chaos-r6s-${impl}-b.log` }));
      takeoverAt = Date.now();
    }
    await env.waitBound(names.slice(1), 90_000);
    // Split brain: anything of the old leader's reaching the plugin or the API after the new one leads.
    const lateCsi = (await proxyA.calls()).filter((c) => c.method !== 'Probe' && c.startedAt > takeoverAt!);
    const lateApi = api.calls().filter((c) => c.forwardedAt !== undefined && c.forwardedAt > takeoverAt! && c.method !== 'GET');
    if (code === 'still running') a.killNow();
    api.clearRules();
    await deleteClaims(env, names.slice(1));
    const { diff, convergedMs } = await env.settle(before, { since: slowAt, timeoutMs: impl === 'ours' ? 60_000 : 15_000, journalNamespace: NS });
    const problems: string[] = [];
    if (code === 'still running') problems.push('the old leader kept running 40 s after its requests stalled');
    if (lateCsi.length) problems.push(`split brain: ${lateCsi.length} CSI call(s) from the old leader after the takeover (${[...new Set(lateCsi.map((c) => c.method))].join(', ')})`);
    if (lateApi.length) problems.push(`split brain: ${lateApi.length} API write(s) from the old leader reached the apiserver after the takeover (${[...new Set(lateApi.map((c) => `${c.method} ${c.path.split('/').slice(-2).join('/')}`))].slice(0, 3).join(', ')})`);
    const notes = `old leader exit ${code} ${(exitMs / 1000).toFixed(1)} s after the slowdown; ${twoReplicas ? `standby leading ${((takeoverAt - slowAt) / 1000).toFixed(1)} s after it` : 'restarted'}`;
    const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, problems.join('; ') || undefined);
    mine.push(r);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      expect(code).toBe(1);
    }
  }, 300_000);

  it('row 14: missing RBAC (no create on persistentvolumes): the permission is named, no crash loop, nothing leaks', async () => {
    const row = '14';
    const scenario = 'ServiceAccount whose role lacks create on persistentvolumes; claim waits, then deleted';
    if (!(await available(impl, row, scenario))) return;
    const info = env.info;
    const token = await restrictedToken();
    const kubeconfig = join(info.workDir, `kubeconfig-r14-${impl}`);
    writeFileSync(kubeconfig, kubeconfigYaml(info.apiServerUrl, token), { mode: 0o600 });
    const before = await env.snapshot();
    const logName = `chaos-r14-${impl}.log`;
    const p = env.own(await launch(info, impl, 'provisioner', { csiAddress: info.csiEndpoint, extraArgs: base, logName, kubeconfig }));
    const name = `r14-${impl}`;
    await env.createClaim(name, SC);
    const started = Date.now();
    const forbidden = /persistentvolumes[^\n]*forbidden|forbidden[^\n]*persistentvolumes|cannot create resource "persistentvolumes"/i;
    const named = await waitFor('the missing permission named', async () => {
      const ev = (await events(name)).find((e) => forbidden.test(e.message ?? ''));
      if (ev) return `event ${ev.reason}: ${(ev.message ?? '').slice(0, 160)}`;
      // The log counts only when no event came in a while (events are written asynchronously).
      if (Date.now() - started < 20_000) return undefined;
      const line = logText(info.workDir, logName).split('\n').find((l) => /cannot create resource \\?"persistentvolumes\\?"/.test(l));
      return line ? `log only: ${line.slice(0, 160)}` : undefined;
    }, { timeoutMs: 45_000, intervalMs: 500 }).catch(() => undefined);
    const namedMs = Date.now() - started;
    // A few more seconds: still running (no crash loop), the claim still Pending.
    await new Promise((r) => setTimeout(r, 3000));
    const running = p.running;
    await env.deleteClaim(name);
    const since = Date.now();
    const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: impl === 'ours' ? 45_000 : 15_000, journalNamespace: NS });
    const problems: string[] = [];
    if (!named) problems.push('the missing permission was not named in 45 s (no event, no log line)');
    if (!running) problems.push(`the sidecar exited (code ${await p.exited})`);
    const notes = `${named ?? 'not named'}${named ? ` (after ${(namedMs / 1000).toFixed(1)} s)` : ''}; process ${running ? 'kept running' : 'exited'}`;
    const r = await env.finish({ row, scenario, impl, notes, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, problems.join('; ') || undefined);
    mine.push(r);
    if (impl === 'ours') {
      expect(r.outcome).toBe('clean');
      expect(named).toMatch(/^event /);
    }
  }, 180_000);

  it('row 4: restore from a VolumeSnapshot being deleted; CreateVolume times out (done on the backend); claim deleted', async () => {
    const row = '4';
    const scenario = 'restore from a snapshot; CreateVolume DeadlineExceeded (made on the backend); snapshot deleted (held); claim deleted';
    if (!(await available(impl, row, scenario))) return;
    const info = env.info;
    // The source volume and its backend snapshot exist before the scenario (not counted).
    const src = await env.csi.controller.createVolume({
      name: `chaos-r4-src-${impl}`,
      capacity_range: { required_bytes: GiB },
      volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    const cut = await env.csi.controller.createSnapshot({ name: `chaos-r4-snap-${impl}`, source_volume_id: src.volume!.volume_id });
    const snapHandle = cut.snapshot!.snapshot_id;
    const snap = `r4-snap-${impl}`;
    const content = `${NS}-${snap}`;
    const before = await env.snapshot();
    try {
      await readySnapshot(snap, content, snapHandle);
      const proxy = await env.proxy(`r4-${impl}`);
      await proxy.addRule({ methods: ['CreateVolume'], action: { type: 'forwardThenError', code: 'DeadlineExceeded' } });
      env.own(await launch(info, impl, 'provisioner', { csiAddress: proxy.address, extraArgs: base, logName: `chaos-r4-${impl}.log` }));
      const name = `r4-${impl}`;
      const claim = await env.request<{ metadata?: { uid?: string } }>('POST', env.claimPath(), {
        metadata: { name, namespace: NS },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: SC,
          resources: { requests: { storage: '1Gi' } },
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snap },
        },
      });
      const pvName = `pvc-${claim.metadata?.uid}`;
      await proxy.waitForCall('CreateVolume', (c) => c.keys.includes(pvName) && c.backend === 'OK', 30_000);
      // The user deletes the snapshot (a test finalizer keeps it around, being deleted) and then the claim.
      await env.request('DELETE', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots/${snap}`);
      await new Promise((r) => setTimeout(r, 1500));
      await env.deleteClaim(name);
      await waitFor('claim gone', async () => (await env.claim(name)) === undefined, { timeoutMs: 30_000 }).catch(() => undefined);
      await proxy.clearRules();
      const since = Date.now();
      const { diff, convergedMs } = await env.settle(before, { since, timeoutMs: impl === 'ours' ? 45_000 : 15_000, journalNamespace: NS });
      const snapFinalizers = ((await snapshotObj(snap))?.metadata?.finalizers ?? []).filter((f) => f !== TEST_HOLD);
      const problem = snapFinalizers.includes(SOURCE_PROTECTION) ? `snapshot ${snap} still blocked by ${SOURCE_PROTECTION}` : undefined;
      const r = await env.finish({ row, scenario, impl, notes: `snapshot finalizers left (besides the test hold): ${JSON.stringify(snapFinalizers)}`, ...(convergedMs !== undefined ? { convergedMs } : {}) }, diff, problem);
      mine.push(r);
      if (impl === 'ours') expect(r.outcome).toBe('clean');
    } finally {
      await env.request('PATCH', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots/${snap}`, { metadata: { finalizers: null } }, 'application/merge-patch+json').catch(() => undefined);
      await env.request('DELETE', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots/${snap}`).catch(() => undefined);
      await env.request('DELETE', `/apis/${SNAP}/volumesnapshotcontents/${content}`).catch(() => undefined);
      await env.csi.controller.deleteSnapshot({ snapshot_id: snapHandle }).catch(() => undefined);
      await env.csi.controller.deleteVolume({ volume_id: src.volume!.volume_id }).catch(() => undefined);
    }
  }, 180_000);
});

function logText(workDir: string, logName: string): string {
  try {
    return readFileSync(join(workDir, 'logs', logName), 'utf8');
  } catch {
    return '';
  }
}

/** A ServiceAccount token whose ClusterRole is the provisioner's chart role minus `create` on persistentvolumes. */
async function restrictedToken(): Promise<string> {
  const sa = 'chaos-restricted-provisioner';
  await env.request('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: sa } }).catch(() => undefined);
  const rules = [
    { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'delete', 'patch', 'update'] },
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: ['storage.k8s.io'], resources: ['storageclasses', 'csinodes', 'volumeattachments', 'volumeattributesclasses'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch', 'create', 'update', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['list', 'watch', 'create', 'update', 'patch'] },
    { apiGroups: [''], resources: ['nodes', 'secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots', 'volumesnapshotcontents'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'watch', 'list', 'delete', 'update', 'create', 'patch'] },
  ];
  const role = 'chaos-restricted-provisioner';
  await env.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}`).catch(() => undefined);
  await env.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: role }, rules });
  await env.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}`).catch(() => undefined);
  await env.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: role },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: NS }],
  });
  const tr = await env.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${NS}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  if (!tr.status?.token) throw new Error('TokenRequest returned no token');
  return tr.status.token;
}

async function snapshotObj(name: string): Promise<{ metadata?: { finalizers?: string[]; uid?: string } } | undefined> {
  return env.request<{ metadata?: { finalizers?: string[] } }>('GET', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots/${name}`).catch(() => undefined);
}

/** What the snapshot controller would make: a ready VolumeSnapshot bound to a ready content (Retain), plus a test finalizer. */
async function readySnapshot(name: string, content: string, handle: string): Promise<void> {
  const vs = await env.request<{ metadata: { uid: string } }>('POST', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots`, {
    apiVersion: SNAP,
    kind: 'VolumeSnapshot',
    metadata: { name, finalizers: [TEST_HOLD] },
    spec: { source: { volumeSnapshotContentName: content } },
  });
  await env.request('POST', `/apis/${SNAP}/volumesnapshotcontents`, {
    apiVersion: SNAP,
    kind: 'VolumeSnapshotContent',
    metadata: { name: content },
    spec: {
      deletionPolicy: 'Retain',
      driver: env.driver,
      source: { snapshotHandle: handle },
      sourceVolumeMode: 'Filesystem',
      volumeSnapshotRef: { apiVersion: SNAP, kind: 'VolumeSnapshot', namespace: NS, name, uid: vs.metadata.uid },
    },
  });
  await env.request('PATCH', `/apis/${SNAP}/volumesnapshotcontents/${content}/status`, { status: { snapshotHandle: handle, readyToUse: true, restoreSize: 1024 ** 3 } }, 'application/merge-patch+json');
  await env.request('PATCH', `/apis/${SNAP}/namespaces/${NS}/volumesnapshots/${name}/status`, { status: { boundVolumeSnapshotContentName: content, readyToUse: true, restoreSize: '1Gi' } }, 'application/merge-patch+json');
}
