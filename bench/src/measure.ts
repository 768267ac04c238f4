// One measured run: the scenario's objects, the sidecar started and left to sync, the workload,
// a short steady window, the sidecar stopped; then the process and API figures, and the cluster
// emptied for the next run.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedProcess } from '@csi-sidecars-ts/e2e/dist/harness/managed-process.js';
import { freePort } from '@csi-sidecars-ts/e2e/dist/harness/ports.js';
import { apiQuietBeforeLoadMs } from './api-quiet.js';
import { countWindow, type RequestTally } from './audit.js';
import { metricsDelta, type RunBreakdown } from './breakdown/breakdown.js';
import { monotonicMicros, parseCpuProfile, summarizeCpuProfile } from './breakdown/cpu-profile.js';
import { parsePrometheusText, type Sample } from './breakdown/prom-text.js';
import { figure, type Figure } from './figures.js';
import { ProcSampler } from './process/proc-stats.js';
import { createProbe, type Probe } from './probes.js';
import type { RunRecord } from './report/model.js';
import type { RunContext, Scenario } from './scenarios/scenario.js';
import { sleep } from './scenarios/scenario.js';
import { launchSidecar, userAgentPrefix, type SidecarBinary } from './sidecars.js';
import { median } from './stats.js';

/** The sidecar could not start (or died before it synced): the implementation is not runnable. */
export class SidecarStartError extends Error {
  override readonly name = 'SidecarStartError';
}

/** The probe is polled this often after the sidecar started. */
const PROBE_POLL_MS = 50;
const SYNC_TIMEOUT_MS = 180_000;
/**
 * After the probe: the sidecar has settled once it used < 5% of a core for QUIET_MS and made no
 * API request for apiQuietBeforeLoadMs (its token bucket is full again, as the other side's).
 */
const QUIET_MS = 1000;
const QUIET_CPU = 0.05;
/** Given up after this long beyond the API quiet time. */
const SETTLE_TIMEOUT_MS = 15_000;
/** After the workload: the window whose median RSS is the steady RSS. */
const STEADY_MS = 2000;

const MIB = 1024;

function firstErrorLines(proc: ManagedProcess): string {
  const lines = proc
    .tail(40)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /error|fatal|panic|unknown|invalid|cannot|failed/i.test(l));
  return (errors.length ? errors : lines).slice(-3).join(' | ').slice(0, 400);
}

/** Waits until the freshly started sidecar has done the probe's job; returns when (performance.now()). */
async function waitProbe(proc: ManagedProcess, probe: Probe, spawnAt: number): Promise<number> {
  for (;;) {
    if (!proc.running) throw new SidecarStartError(`exited at start-up (code ${await proc.exited}): ${firstErrorLines(proc)}`);
    if (await probe.done()) return performance.now();
    if (performance.now() - spawnAt > SYNC_TIMEOUT_MS) throw new Error(`${probe.what}: not done ${SYNC_TIMEOUT_MS / 1000} s after the sidecar started`);
    await sleep(PROBE_POLL_MS);
  }
}

/** Then waits (bounded) until the sidecar is idle, so that left-over start-up work does not overlap the load. */
async function waitSettled(sampler: ProcSampler, tally: RequestTally, apiQuietMs: number): Promise<boolean> {
  const deadline = performance.now() + apiQuietMs + SETTLE_TIMEOUT_MS;
  for (;;) {
    await sleep(100);
    const cpu = sampler.recentCpuFraction(QUIET_MS);
    const apiIdleMs = tally.lastAt === 0 ? Infinity : Date.now() - tally.lastAt;
    if (cpu !== undefined && cpu < QUIET_CPU && apiIdleMs >= apiQuietMs) return true;
    if (performance.now() > deadline) return false;
  }
}

/** Rejects as soon as the process exits, so a crash mid-workload does not wait for the timeout. */
function unlessExited<T>(proc: ManagedProcess, work: Promise<T>): Promise<T> {
  work.catch(() => undefined); // settled later, maybe after the race is decided
  return Promise.race([
    work,
    proc.exited.then((code) => {
      throw new Error(`the sidecar exited during the workload (code ${code}): ${firstErrorLines(proc)}`);
    }),
  ]);
}

/** Functions and modules kept per run's profile summary (the report shows the top 8 over all runs). */
const PROFILE_TOP = 40;

/** The sidecar's /metrics, parsed; undefined when it cannot be read (the breakdown then has no metrics). */
async function scrapeMetrics(port: number): Promise<Sample[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    return parsePrometheusText(await res.text());
  } catch {
    return undefined;
  }
}

export interface MeasureInput {
  scenario: Scenario;
  ctx: RunContext;
  binary: SidecarBinary;
  flags: readonly string[];
  logDir: string;
  pair: number;
  /** Ours only: write a CPU profile into this folder and summarise the load's part of it. */
  cpuProfileDir?: string;
}

export async function measureRun({ scenario, ctx, binary, flags, logDir, pair, cpuProfileDir }: MeasureInput): Promise<RunRecord> {
  const { cluster } = ctx;
  const record: RunRecord = {
    scenario: scenario.info.id,
    sidecar: scenario.info.sidecar,
    profile: ctx.profile.id,
    impl: ctx.impl,
    pair,
    objects: ctx.size,
    figures: [],
    notes: [],
  };
  let startError: SidecarStartError | undefined;
  let phaseStart = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    ctx.log(`run ${ctx.runId}: ${name} (${Math.round(now - phaseStart)} ms)`);
    phaseStart = now;
  };
  try {
    await cluster.createNamespace(ctx.ns);
    ctx.progress('preparing');
    await scenario.prepare(ctx);
    phase('prepared');
    ctx.progress('waiting for the cluster to settle');
    if (!(await cluster.waitDeletedNamespacesGone())) record.notes.push("an earlier run's namespace was still being deleted when the sidecar started");
    if (!(await cluster.waitQuiet())) record.notes.push('the other controllers were still busy when the sidecar started');
    phase('cluster quiet');
    const probe = await createProbe(cluster, scenario.info.sidecar, ctx.ns, ctx.runId);
    const tally = cluster.audit.track(userAgentPrefix(scenario.info.sidecar));
    // Both sides serve /metrics on a port of their own (same flag), read before and after the load.
    const metricsPort = await freePort();
    const profileFile = cpuProfileDir && binary.impl === 'ours' ? { dir: cpuProfileDir, name: `${ctx.runId}.cpuprofile` } : undefined;
    if (profileFile) mkdirSync(profileFile.dir, { recursive: true });
    const spawnAt = performance.now();
    const proc = launchSidecar(binary, [...flags, `--http-endpoint=127.0.0.1:${metricsPort}`], join(logDir, `${ctx.runId}.log`), profileFile ? { cpuProfile: profileFile } : {});
    const sampler = new ProcSampler(proc.pid ?? -1);
    const figures: Figure[] = [];
    let workStart = 0;
    let workEnd = 0;
    // The load's window on the audit log's clock (epoch ms) and on the CPU profile's (monotonic µs).
    let workStartEpoch = 0;
    let stopEpoch = 0;
    let workStartMono = 0;
    let workEndMono = 0;
    let metricsBefore: Sample[] | undefined;
    let metricsAfter: Sample[] | undefined;
    let cpuDuringLoad = 0;
    try {
      ctx.progress('starting the sidecar');
      const readyAt = await waitProbe(proc, probe, spawnAt);
      phase(`${probe.what} ${Math.round(readyAt - spawnAt)} ms after the start`);
      if (scenario.reportsSync) figures.push(figure('sync_s', 'start-up until the first job is done', 's', 'lower', (readyAt - spawnAt) / 1000));
      const apiQuietMs = apiQuietBeforeLoadMs(ctx.profile.qps, ctx.profile.burst);
      if (!(await waitSettled(sampler, tally, apiQuietMs))) record.notes.push(`the sidecar was still busy ${(apiQuietMs + SETTLE_TIMEOUT_MS) / 1000} s after its start-up probe`);
      phase('settled');
      metricsBefore = await scrapeMetrics(metricsPort);
      workStartEpoch = Date.now();
      workStartMono = monotonicMicros();
      workStart = performance.now();
      const result = await unlessExited(proc, scenario.workload(ctx));
      workEnd = performance.now();
      workEndMono = monotonicMicros();
      phase('workload done');
      record.objects = result.objects;
      figures.push(...result.figures);
      record.notes.push(...(result.notes ?? []));
      ctx.progress('steady window');
      await sleep(STEADY_MS);
      sampler.sample();
      const steady = median(sampler.rssBetween(workEnd, performance.now()));
      figures.push(figure('rss_peak_mib', 'peak RSS', 'MiB', 'lower', sampler.peakKiB() / MIB));
      if (steady !== undefined) figures.push(figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', steady / MIB));
      cpuDuringLoad = sampler.cpuSecondsBetween(workStart, workEnd);
      figures.push(figure('cpu_s', 'CPU during the load', 's', 'lower', cpuDuringLoad));
      figures.push(figure('cpu_total_s', 'CPU, whole run incl. start-up', 's', 'lower', sampler.cpuSecondsBetween(spawnAt, performance.now())));
      metricsAfter = await scrapeMetrics(metricsPort);
    } catch (err) {
      if (err instanceof SidecarStartError) startError = err;
      throw err;
    } finally {
      sampler.stop();
      stopEpoch = Date.now();
      await proc.stop();
      // Watches are logged when they end, i.e. just after the sidecar stopped.
      await sleep(700);
      cluster.audit.untrack(tally);
      phase('sidecar stopped');
    }
    if (tally.total > 0) {
      figures.push(figure('api_requests', 'API requests', 'requests', 'lower', tally.total));
      figures.push(figure('api_writes', 'API writes', 'requests', 'lower', tally.writes));
      record.requests = { byCall: tally.byCall, userAgents: [...tally.userAgents] };
    } else {
      record.notes.push(`no API request with a User-Agent starting "${userAgentPrefix(scenario.info.sidecar)}" in the audit log`);
    }
    record.figures = figures;
    if (workStartEpoch > 0 && !scenario.reportsSync) {
      const window = countWindow(tally.calls, workStartEpoch, stopEpoch);
      const breakdown: RunBreakdown = { objects: record.objects, calls: window.byCall, requests: window.total, writes: window.writes, cpuSeconds: cpuDuringLoad };
      if (window.writeServerMs !== undefined) breakdown.writeServerMs = window.writeServerMs;
      if (metricsBefore && metricsAfter) breakdown.metrics = metricsDelta(metricsBefore, metricsAfter);
      else record.notes.push(`the sidecar's /metrics could not be read on port ${metricsPort}: no CSI or queue figures`);
      if (profileFile) {
        const path = join(profileFile.dir, profileFile.name);
        try {
          if (!existsSync(path)) throw new Error('not written (did the process exit by itself?)');
          breakdown.profile = summarizeCpuProfile(parseCpuProfile(readFileSync(path, 'utf8')), { fromUs: workStartMono, toUs: workEndMono, top: PROFILE_TOP });
        } catch (err) {
          record.notes.push(`CPU profile ${path}: ${(err as Error).message}`);
        }
      }
      record.breakdown = breakdown;
    }
  } catch (err) {
    record.error = (err as Error).message;
    if (startError) throw startError;
  } finally {
    ctx.progress('cleaning up');
    try {
      await cluster.purge(ctx.ns);
      if (scenario.usesBackend) await cluster.restartPlugin();
      phase('cleaned up');
    } catch (err) {
      record.notes.push(`clean-up failed: ${(err as Error).message}`);
      ctx.log(`clean-up after ${ctx.runId} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  return record;
}
