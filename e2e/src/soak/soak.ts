// The soak of issue 9: N claims created, attached, expanded and deleted on a control plane of its
// own while the plugin goes away every few seconds (the fault proxy's socket drop: the mock
// plugin keeps its volumes in memory, so the plugin process itself must live for the inventory
// to mean anything), kube-apiserver is killed and restarted, and sidecars are SIGKILLed at random
// points. All three sidecars run under a kubelet-like supervisor. At the end the inventory check
// of the chaos suite (e2e/src/faults/inventory.ts) is the judge: no leaked volume, no PV without
// a volume, no finalizer or journal entry left, no object left over, everything done in time.
import { loadavg } from 'node:os';
import { CsiConnection, createKubeClient, type KubeClient } from '@csi-sidecars-ts/shared';
import { seededRandom } from '@csi-sidecars-ts/shared/testing';
import { ControlPlane } from '../harness/control-plane.js';
import { startSidecar, SIDECARS, type SidecarName } from '../harness/sidecars.js';
import { FaultProxyProcess } from '../faults/fault-proxy.js';
import { JOURNAL_LABEL, describeDiff, inventoryDiff, isClean, snapshot, type InventoryDiff } from '../faults/inventory.js';
import { Supervisor } from './supervisor.js';
import { SoakWorkload, type Stage } from './workload.js';

export interface SoakOptions {
  claims?: number;
  /** Claims between created and deleted at once. */
  concurrency?: number;
  seed?: number;
  /** Mean time between plugin losses (each ±50 %). */
  pluginKillEveryMs?: number;
  /** How long the plugin's socket stays away each time. */
  pluginDownMs?: number;
  /** At most this many plugin losses (default: no limit). */
  pluginKillsMax?: number;
  apiserverRestarts?: number;
  /** How long kube-apiserver stays down each time (plus its start-up). */
  apiserverDownMs?: number;
  sidecarKills?: number;
  /** The workload under faults gets this long (not counting the control plane's start-up). */
  timeoutMs?: number;
  /** Then the faults stop and everything must be done and clean within this. */
  convergeTimeoutMs?: number;
  verbosity?: number;
  nodes?: number;
  /** Keep the control plane's working folder (all logs). */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface SoakReport {
  ok: boolean;
  problems: string[];
  seed: number;
  claims: number;
  claimsDone: number;
  stages: Record<Stage, number>;
  startupMs: number;
  workloadMs: number;
  /** Whether every claim was done while the faults were still running. */
  finishedUnderFaults: boolean;
  /** From the end of the faults to every claim done and a clean inventory. */
  convergeMs: number | undefined;
  totalMs: number;
  faults: { pluginLosses: number; apiserverRestarts: number; sidecarKills: { sidecar: SidecarName; at: number }[] };
  restarts: Record<SidecarName, { total: number; killed: number; exitCodes: Record<string, number> }>;
  inventory: string;
  leakedVolumes: number;
  danglingPvs: number;
  stuckObjects: string[];
  claimSeconds: { p50: number; p95: number; max: number };
  failedRequests: number;
  loadAverage: { start: number; end: number; max: number };
  workDir: string;
}

const NS = 'soak';
const SC = 'soak';

export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const o = {
    claims: 1000,
    concurrency: 100,
    seed: Math.floor(Math.random() * 2 ** 31),
    pluginKillEveryMs: 6000,
    pluginDownMs: 1000,
    pluginKillsMax: Number.POSITIVE_INFINITY,
    apiserverRestarts: 2,
    apiserverDownMs: 2000,
    sidecarKills: 5,
    verbosity: 2,
    nodes: 3,
    keep: false,
    log: (l: string) => process.stderr.write(`${l}\n`),
    ...options,
  };
  const timeoutMs = o.timeoutMs ?? 120_000 + o.claims * 1500;
  const convergeTimeoutMs = o.convergeTimeoutMs ?? 120_000;
  const rng = seededRandom(o.seed);
  const log = (l: string) => o.log(`[soak +${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}`);
  const t0 = Date.now();
  let maxLoad = loadavg()[0]!;
  const startLoad = maxLoad;

  const cp = new ControlPlane({ nodes: o.nodes, keep: o.keep, log: () => undefined });
  const supervisors: Supervisor[] = [];
  let proxy: FaultProxyProcess | undefined;
  let client: KubeClient | undefined;
  let csi: CsiConnection | undefined;
  const problems: string[] = [];
  try {
    const info = await cp.start();
    const startupMs = Date.now() - t0;
    log(`control plane up in ${(startupMs / 1000).toFixed(1)} s (${info.workDir}); seed ${o.seed}`);
    client = createKubeClient({ kubeconfig: info.kubeconfig, qps: 200, burst: 400 });
    csi = new CsiConnection({ address: info.csiEndpoint, timeoutMs: 10_000, onConnectionLost: () => undefined });
    await csi.start();
    await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: NS } } });
    await client.request({
      method: 'POST',
      path: '/apis/storage.k8s.io/v1/storageclasses',
      body: { metadata: { name: SC }, provisioner: info.driverName, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate', allowVolumeExpansion: true },
    });
    const before = await snapshot(csi, client, info.driverName);

    proxy = await FaultProxyProcess.start(info, 'soak');
    // The Go defaults (5 QPS, burst 10) make every restart spend seconds in client-side throttling
    // (informers, journal replay); an operator running 1000 volumes raises them, and so does the soak.
    const common = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=10s', '--kube-api-qps=50', '--kube-api-burst=100'];
    const extra: Record<SidecarName, string[]> = {
      // The journal lives in the leader-election namespace.
      provisioner: [...common, `--leader-election-namespace=${NS}`],
      attacher: common,
      resizer: common,
    };
    for (const name of SIDECARS) {
      const s = new Supervisor({
        name: `csi-${name}`,
        start: (attempt) =>
          startSidecar(info, name, { csiAddress: proxy!.address, verbosity: o.verbosity, extraArgs: extra[name], logName: `soak-csi-${name}-${attempt}.log` }),
        initialBackoffMs: 500,
        maxBackoffMs: 3000,
        resetAfterMs: 10_000,
      });
      await s.start();
      supervisors.push(s);
    }
    const byName = (n: SidecarName) => supervisors[SIDECARS.indexOf(n)]!;

    // Fault schedule: API server restarts evenly spread over the workload's progress, sidecar kills
    // at seeded random points of it, plugin losses on a seeded timer.
    const apiAt = Array.from({ length: o.apiserverRestarts }, (_, i) => (i + 1) / (o.apiserverRestarts + 1));
    const killAt = Array.from({ length: o.sidecarKills }, () => 0.05 + rng.next() * 0.85).sort((a, b) => a - b);
    const faults: SoakReport['faults'] = { pluginLosses: 0, apiserverRestarts: 0, sidecarKills: [] };

    const workload = new SoakWorkload(client, { namespace: NS, storageClass: SC, driver: info.driverName, claims: o.claims, concurrency: o.concurrency, nodes: info.nodeNames });
    const deadline = Date.now() + timeoutMs;
    const workStart = Date.now();
    let workloadOver = false;

    const pluginLoop = (async () => {
      // From the first claim Bound on: every sidecar is connected by then, so each loss is seen.
      while (!workloadOver && workload.counts().pending + workload.counts().provisioning === o.claims) await sleep(200);
      while (!workloadOver && faults.pluginLosses < o.pluginKillsMax) {
        await sleep(o.pluginKillEveryMs * (0.5 + rng.next()));
        if (workloadOver) break;
        await proxy!.restart(o.pluginDownMs).then(
          () => {
            faults.pluginLosses++;
            log(`plugin gone for ${o.pluginDownMs} ms (#${faults.pluginLosses}); progress ${(workload.progress * 100).toFixed(0)} %`);
          },
          (err: unknown) => log(`plugin loss failed: ${(err as Error).message}`),
        );
      }
    })();

    let lastReport = 0;
    while (!workload.done && Date.now() < deadline) {
      await workload.tick().catch((err: unknown) => {
        workload.failedRequests++;
        workload.lastError = (err as Error).message;
      });
      maxLoad = Math.max(maxLoad, loadavg()[0]!);
      const progress = workload.progress;
      if (apiAt.length > 0 && progress >= apiAt[0]!) {
        apiAt.shift();
        log(`killing kube-apiserver (progress ${(progress * 100).toFixed(0)} %)`);
        cp.processes.find((p) => p.name === 'kube-apiserver')?.killNow();
        const down = Date.now();
        await cp.restartApiserver(o.apiserverDownMs);
        faults.apiserverRestarts++;
        log(`kube-apiserver back after ${((Date.now() - down) / 1000).toFixed(1)} s`);
      }
      if (killAt.length > 0 && progress >= killAt[0]!) {
        const alive = supervisors.filter((s) => s.running);
        if (alive.length > 0) {
          killAt.shift();
          const victim = rng.pick(alive);
          victim.kill();
          const sidecar = SIDECARS[supervisors.indexOf(victim)]!;
          faults.sidecarKills.push({ sidecar, at: Math.round(progress * 100) });
          log(`SIGKILL ${victim.name} (progress ${(progress * 100).toFixed(0)} %)`);
        }
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        const c = workload.counts();
        log(`progress ${(progress * 100).toFixed(1)} %: ${Object.entries(c).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')}${workload.lastError ? `; last API error: ${workload.lastError.slice(0, 120)}` : ''}`);
      }
      await sleep(500);
    }
    workloadOver = true;
    const workloadMs = Date.now() - workStart;
    const finishedUnderFaults = workload.done;
    await pluginLoop;
    if (apiAt.length > 0) problems.push(`${apiAt.length} API server restart(s) not done`);
    if (killAt.length > 0) problems.push(`${killAt.length} sidecar kill(s) not done`);
    log(`workload ${workload.done ? 'finished' : `stopped at the bound (${JSON.stringify(workload.counts())})`} after ${(workloadMs / 1000).toFixed(1)} s; faults stopped, converging`);

    // Convergence, faults over: every claim done, the inventory clean, nothing of the soak left.
    const convergeStart = Date.now();
    const convergeDeadline = convergeStart + convergeTimeoutMs;
    // The journal is checked by entry, not by Lease: its shard Leases stay when empty.
    const check = async (): Promise<InventoryDiff> => ({
      ...(await inventoryDiff(csi!, client!, { driver: info.driverName, namespace: NS, before })),
      journal: await journalEntries(client!, NS),
    });
    let diff: InventoryDiff = await check();
    let leftovers = await leftoverObjects(client, info.driverName);
    while ((!workload.done || !isClean(diff) || leftovers.length > 0) && Date.now() < convergeDeadline) {
      await sleep(500);
      if (!workload.done) await workload.tick().catch(() => undefined);
      diff = await check().catch(() => diff);
      leftovers = await leftoverObjects(client, info.driverName).catch(() => leftovers);
    }
    if (!workload.done) problems.push(`claims not done ${convergeTimeoutMs / 1000} s after the faults stopped: ${JSON.stringify(workload.counts())}`);
    const converged = isClean(diff) && leftovers.length === 0 && workload.done;
    const convergeMs = converged ? Date.now() - convergeStart : undefined;
    if (!isClean(diff)) problems.push(`inventory: ${describeDiff(diff)}`);
    if (leftovers.length > 0) problems.push(`${leftovers.length} object(s) left: ${leftovers.slice(0, 10).join(', ')}`);
    for (const s of supervisors) if (!s.running) problems.push(`${s.name} is not running at the end`);

    const durations = workload.tracks.filter((t) => t.finishedAt && t.startedAt).map((t) => (t.finishedAt! - t.startedAt!) / 1000).sort((a, b) => a - b);
    const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
    const restarts = Object.fromEntries(
      SIDECARS.map((n) => {
        const s = byName(n);
        const exitCodes: Record<string, number> = {};
        for (const e of s.exits) exitCodes[String(e.code)] = (exitCodes[String(e.code)] ?? 0) + 1;
        return [n, { total: s.exits.length, killed: s.exits.filter((e) => e.killed).length, exitCodes }];
      }),
    ) as SoakReport['restarts'];
    const stuck = [...workload.tracks.filter((t) => t.stage !== 'done').map((t) => `claim ${t.name} at ${t.stage}`), ...diff.finalizers, ...leftovers];
    return {
      ok: problems.length === 0,
      problems,
      seed: o.seed,
      claims: o.claims,
      claimsDone: workload.counts().done,
      stages: workload.counts(),
      startupMs,
      workloadMs,
      finishedUnderFaults,
      convergeMs,
      totalMs: Date.now() - t0,
      faults,
      restarts,
      inventory: describeDiff(diff),
      leakedVolumes: diff.leaked.length,
      danglingPvs: diff.dangling.length,
      stuckObjects: [...new Set(stuck)],
      claimSeconds: { p50: pct(0.5), p95: pct(0.95), max: durations.at(-1) ?? 0 },
      failedRequests: workload.failedRequests,
      loadAverage: { start: startLoad, end: loadavg()[0]!, max: Math.max(maxLoad, loadavg()[0]!) },
      workDir: info.workDir,
    };
  } finally {
    for (const s of supervisors) await s.stop(5000);
    await proxy?.close();
    csi?.dispose();
    client?.dispose();
    await cp.stop();
  }
}

/** Provisioning journal entries (annotations on the journal's shard Leases) left in `namespace`. */
export async function journalEntries(client: KubeClient, namespace: string): Promise<string[]> {
  const leases = await client.request<{ items: { metadata?: { name?: string; annotations?: Record<string, string> } }[] }>({
    method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
    query: { labelSelector: JOURNAL_LABEL },
  });
  return leases.items.flatMap((l) => Object.keys(l.metadata?.annotations ?? {}).filter((k) => k.startsWith(JOURNAL_ENTRY_PREFIX)).map((k) => `${l.metadata?.name}:${k}`));
}

/** Where the provisioner keeps journal entries on its shard Leases (packages/provisioner journal-entry.ts). */
const JOURNAL_ENTRY_PREFIX = 'journal.csi-sidecars-ts.io/';

/** Claims and pods left in the soak's namespace, the driver's PVs and VolumeAttachments. */
async function leftoverObjects(client: KubeClient, driver: string): Promise<string[]> {
  const out: string[] = [];
  const list = <T>(path: string) => client.request<{ items: T[] }>({ method: 'GET', path }).then((l) => l.items);
  type Obj = { metadata?: { name?: string }; spec?: { csi?: { driver?: string }; attacher?: string } };
  for (const c of await list<Obj>(`/api/v1/namespaces/${NS}/persistentvolumeclaims`)) out.push(`PVC ${c.metadata?.name}`);
  for (const p of await list<Obj>(`/api/v1/namespaces/${NS}/pods`)) out.push(`Pod ${p.metadata?.name}`);
  for (const pv of await list<Obj>('/api/v1/persistentvolumes')) if (pv.spec?.csi?.driver === driver) out.push(`PV ${pv.metadata?.name}`);
  for (const va of await list<Obj>('/apis/storage.k8s.io/v1/volumeattachments')) if (va.spec?.attacher === driver) out.push(`VolumeAttachment ${va.metadata?.name}`);
  return out;
}

export function formatReport(r: SoakReport): string {
  const restarts = SIDECARS.map((n) => `${n} ${r.restarts[n].total} (${r.restarts[n].killed} SIGKILLed by the soak; exit codes ${JSON.stringify(r.restarts[n].exitCodes)})`).join('; ');
  return [
    `soak ${r.ok ? 'PASSED' : 'FAILED'} — seed ${r.seed}`,
    `  claims:            ${r.claimsDone}/${r.claims} done (${Object.entries(r.stages).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')})`,
    `  time:              total ${(r.totalMs / 1000).toFixed(1)} s = control plane ${(r.startupMs / 1000).toFixed(1)} s + workload under faults ${(r.workloadMs / 1000).toFixed(1)} s (${r.finishedUnderFaults ? 'all claims done' : 'stopped at the bound'}) + converge ${r.convergeMs === undefined ? 'never' : `${(r.convergeMs / 1000).toFixed(1)} s`}`,
    `  per claim:         p50 ${r.claimSeconds.p50.toFixed(1)} s, p95 ${r.claimSeconds.p95.toFixed(1)} s, max ${r.claimSeconds.max.toFixed(1)} s (create → attach → expand → detach → gone)`,
    `  faults:            plugin lost ${r.faults.pluginLosses}×, kube-apiserver restarted ${r.faults.apiserverRestarts}×, sidecars SIGKILLed ${r.faults.sidecarKills.length}× (${r.faults.sidecarKills.map((k) => `${k.sidecar}@${k.at}%`).join(', ')})`,
    `  sidecar restarts:  ${restarts}`,
    `  leaked volumes:    ${r.leakedVolumes}`,
    `  PVs w/o volume:    ${r.danglingPvs}`,
    `  stuck objects:     ${r.stuckObjects.length}${r.stuckObjects.length ? ` (${r.stuckObjects.slice(0, 10).join(', ')}${r.stuckObjects.length > 10 ? ', …' : ''})` : ''}`,
    `  inventory:         ${r.inventory}`,
    `  API errors:        ${r.failedRequests} failed workload requests (retried)`,
    `  load average:      start ${r.loadAverage.start.toFixed(1)}, max ${r.loadAverage.max.toFixed(1)}, end ${r.loadAverage.end.toFixed(1)}`,
    ...(r.problems.length ? ['  problems:', ...r.problems.map((p) => `    - ${p}`)] : []),
  ].join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
