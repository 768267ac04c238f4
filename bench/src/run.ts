// npm run bench: ours and the real Go sidecars, side by side, on one local control plane and one
// CSI plugin, alternating runs (ours, Go, ours, Go…) per scenario and API-limit profile.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '@csi-sidecars-ts/e2e/dist/harness/paths.js';
import { CEILING_SIZE, IMPLS, PROFILES, SCENARIOS, TARGETS, scaledSizes, type Impl, type ScenarioId, type SidecarName } from './catalogue.js';
import { measureCeiling } from './ceiling.js';
import { BenchCluster } from './cluster.js';
import { SidecarStartError, measureRun } from './measure.js';
import { BenchUsageError, USAGE, parseBenchArgs, type BenchOptions } from './options.js';
import { Progress } from './progress.js';
import { renderMarkdown, renderSummary, formatValue, type ReportMeta } from './report/markdown.js';
import { aggregate, type CeilingRecord, type RunRecord, type SkipRecord } from './report/model.js';
import { updateReadmes } from './report/readmes.js';
import { renderRatioChart } from './report/svg.js';
import { attachDetach, detachUnderFlood } from './scenarios/attach.js';
import { deleteScenario } from './scenarios/delete.js';
import { expandScenario } from './scenarios/expand.js';
import { idleAttacher, idleAttacherLarge, idleProvisioner, idleProvisionerLarge, idleResizer, idleResizerLarge } from './scenarios/idle.js';
import { provisionImmediate, provisionLate } from './scenarios/provision.js';
import { workloadTimeoutMs, type Scenario } from './scenarios/scenario.js';
import { goBinaries, oursBinary, sharedFlags, type SidecarBinary } from './sidecars.js';

const SCENARIO_IMPLS: Readonly<Record<ScenarioId, Scenario>> = {
  provision: provisionImmediate,
  'provision-wffc': provisionLate,
  delete: deleteScenario,
  expand: expandScenario,
  'attach-detach': attachDetach,
  'detach-under-attach-flood': detachUnderFlood,
  'idle-provisioner': idleProvisioner,
  'idle-attacher': idleAttacher,
  'idle-resizer': idleResizer,
  'idle-provisioner-10k-volumes': idleProvisionerLarge,
  'idle-attacher-10k-volumes': idleAttacherLarge,
  'idle-resizer-10k-volumes': idleResizerLarge,
};

/** Figures drawn in the chart (the table has them all). */
const CHART_FIGURES = new Set(['throughput', 'p95_ms', 'attach_throughput', 'attach_p95_ms', 'detach_throughput', 'detach_p95_ms', 'rss_steady_mib', 'cpu_s', 'api_requests', 'sync_s']);
/** Fake nodes take at most 100 CSI volumes each (CSINode allocatable); keep a margin. */
const CLAIMS_PER_NODE = 90;

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} CPU(s) ${cpus[0]?.model.trim() ?? ''}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, load average ${os.loadavg()[0]!.toFixed(1)} at start`;
}

async function main(opts: BenchOptions): Promise<number> {
  const started = new Date();
  const outDir = resolve(opts.outDir ?? join(repoRoot, 'bench', 'results', timestamp()));
  const logDir = join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logStream = createWriteStream(join(outDir, 'bench.log'), { flags: 'a' });
  const log = (line: string) => logStream.write(`${new Date().toISOString()} ${line}\n`);
  const progress = new Progress();
  progress.line(`results in ${outDir}`);

  // A scenario runs only at the selected profiles it has a size for (the larger idle size: one).
  const plan = opts.scenarios.map((id) => SCENARIO_IMPLS[id]).filter((s) => scaledSizes(s.info, opts.profiles, opts.scale).length > 0);
  for (const id of opts.scenarios) if (!plan.some((s) => s.info.id === id)) progress.line(`${id}: not run at ${opts.profiles.join(', ')} (it runs at ${Object.keys(SCENARIOS[id].size).join(', ')} only)`);
  const sizes: ReportMeta['sizes'] = {};
  for (const s of plan) sizes[s.info.id] = Object.fromEntries(scaledSizes(s.info, opts.profiles, opts.scale));
  const wffcMax = opts.scenarios.includes('provision-wffc') ? Math.max(0, ...scaledSizes(SCENARIOS['provision-wffc'], opts.profiles, opts.scale).map(([, n]) => n)) : 0;
  const nodes = Math.max(3, Math.ceil(wffcMax / CLAIMS_PER_NODE));

  progress.line('Go sidecars: building or finding them in the cache (a cold build takes many minutes)');
  const go = await goBinaries([...new Set(plan.map((s) => s.info.sidecar))], log);
  const ours: Record<SidecarName, SidecarBinary> = { provisioner: oursBinary('provisioner'), attacher: oursBinary('attacher'), resizer: oursBinary('resizer') };
  const binaries: Record<Impl, Record<SidecarName, SidecarBinary>> = { ours, go };

  const runs: RunRecord[] = [];
  const skips: SkipRecord[] = [];
  const meta: ReportMeta = {
    startedAt: started.toISOString(),
    durationSeconds: 0,
    scale: opts.scale,
    pairs: opts.pairs,
    machine: machine(),
    versions: `Go sidecars: ${Object.values(go).filter((b) => !b.problem).map((b) => b.version).join(', ') || 'none'}; ours: csi-sidecars-ts v0.1.0 on Node ${process.versions.node}`,
    sizes,
    notes: [
      `${nodes} fake nodes; control plane: etcd, kube-apiserver (audit log on, used to count each sidecar's requests), kube-controller-manager, kube-scheduler, the Kubernetes e2e CSI mock plugin`,
      'identical flags for both sides: --kube-api-qps/--kube-api-burst per profile, --leader-election=false, the Go default workers and timeouts spelled out, --http-endpoint on a free port (read before and after the load), --v given by --v',
      ...(opts.cpuProf ? ['ours ran under `node --cpu-prof` in pair 1 of every load scenario (profiles in logs/profiles/; the sampling costs ours a few per cent of CPU in that pair)'] : []),
    ],
  };
  let ceiling: CeilingRecord | undefined;
  const writeJson = () =>
    writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ meta, options: opts, ceiling, skips, runs, rows: aggregate(runs, TARGETS) }, null, 2)}\n`);

  progress.line(`starting the control plane (${nodes} nodes)`);
  const cluster = await BenchCluster.start({ nodes, keep: opts.keep, log });
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.line('interrupted: stopping; the report will hold the runs finished so far (Ctrl-C again to quit at once)');
    void cluster.stop().catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    if (opts.ceiling) {
      const n = Math.max(100, Math.round(CEILING_SIZE * opts.scale));
      progress.begin(`ceiling: a plain client creating ${n} PVs`);
      ceiling = await measureCeiling(cluster, n);
      progress.line(`ceiling: ${n} PVs in ${ceiling.seconds.toFixed(2)} s = ${ceiling.objectsPerSecond.toFixed(0)} PVs/s with no client limit`);
    }
    const total = plan.reduce((sum, s) => sum + scaledSizes(s.info, opts.profiles, opts.scale).length, 0) * opts.pairs * IMPLS.length;
    let index = 0;
    const notRunnable = new Map<string, string>();
    for (const scenario of plan) {
      if (interrupted) break;
      const name = scenario.info.sidecar;
      for (const impl of IMPLS) {
        const bin = binaries[impl][name];
        if (bin.problem && !notRunnable.has(`${impl}/${name}`)) notRunnable.set(`${impl}/${name}`, bin.problem);
      }
      if (IMPLS.every((impl) => notRunnable.has(`${impl}/${name}`))) {
        for (const impl of IMPLS) {
          const reason = notRunnable.get(`${impl}/${name}`)!;
          skips.push({ scenario: scenario.info.id, impl, reason });
          progress.line(`${scenario.info.id}: ${impl} csi-${name} not runnable: ${reason}`);
        }
        index += scaledSizes(scenario.info, opts.profiles, opts.scale).length * opts.pairs * IMPLS.length;
        continue;
      }
      if (scenario.setupOnce) {
        const size = Math.max(...scaledSizes(scenario.info, opts.profiles, opts.scale).map(([, n]) => n));
        progress.begin(`${scenario.info.id}: set-up`);
        await scenario.setupOnce(cluster, size, (l) => {
          log(l);
          progress.detail(l);
        });
      }
      for (const [profileId, size] of scaledSizes(scenario.info, opts.profiles, opts.scale)) {
        const profile = PROFILES[profileId];
        for (let pair = 1; pair <= opts.pairs; pair++) {
          for (const impl of IMPLS) {
            index++;
            if (interrupted) break;
            const key = `${impl}/${name}`;
            const prefix = `[${String(index).padStart(String(total).length)}/${total}] ${scenario.info.id} · ${profileId} · pair ${pair}/${opts.pairs} · ${impl.padEnd(4)}`;
            if (notRunnable.has(key)) {
              if (!skips.some((s) => s.scenario === scenario.info.id && s.impl === impl)) {
                skips.push({ scenario: scenario.info.id, impl, reason: notRunnable.get(key)! });
                progress.line(`${prefix}: not runnable: ${notRunnable.get(key)}`);
              }
              continue;
            }
            progress.begin(prefix);
            const runId = `${scenario.info.id}-${profileId === 'lifted' ? 'l' : 'd'}${pair}-${impl}`.replace(/[^a-z0-9-]/g, '');
            const ctx = {
              cluster,
              profile,
              impl,
              runId,
              ns: `bench-${runId}`,
              size,
              timeoutMs: workloadTimeoutMs(size, profile.qps),
              log,
              progress: (d: string) => progress.detail(d),
            };
            log(`run ${runId}: ${size} objects, ${profile.title}`);
            try {
              const profiled = opts.cpuProf && pair === 1 && !scenario.reportsSync;
              const record = await measureRun({
                scenario,
                ctx,
                binary: binaries[impl][name],
                flags: sharedFlags(name, profile, cluster.info, opts.verbosity),
                logDir,
                pair,
                ...(profiled ? { cpuProfileDir: join(logDir, 'profiles') } : {}),
              });
              runs.push(record);
              progress.line(`${prefix}: ${describe(record)}`);
              log(`run ${runId}: ${JSON.stringify(record)}`);
            } catch (err) {
              if (!(err instanceof SidecarStartError)) throw err;
              notRunnable.set(key, err.message);
              skips.push({ scenario: scenario.info.id, impl, reason: err.message });
              progress.line(`${prefix}: not runnable: ${err.message}`);
            }
            writeJson();
          }
        }
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    progress.begin('stopping the control plane');
    await cluster.stop().catch((err: unknown) => log(`stop: ${String(err)}`));
  }

  meta.durationSeconds = (Date.now() - started.getTime()) / 1000;
  const rows = aggregate(runs, TARGETS);
  writeJson();
  writeFileSync(join(outDir, 'results.md'), renderMarkdown(meta, rows, skips, ceiling, runs));
  const chartRows = rows.filter((r) => CHART_FIGURES.has(r.key));
  writeFileSync(join(outDir, 'ratios.svg'), renderRatioChart(chartRows, `csi-sidecars-ts vs Go sidecars — ${meta.startedAt}${opts.scale < 1 ? ` (scale ${opts.scale})` : ''}`));
  logStream.end();
  const failed = runs.filter((r) => r.error);
  progress.line(`done in ${Math.round(meta.durationSeconds)} s: ${runs.length - failed.length} runs measured, ${failed.length} failed, ${skips.length} skipped`);
  process.stdout.write(`\n${renderSummary(rows, skips, runs)}\n\n`);
  for (const f of failed) process.stdout.write(`failed: ${f.scenario} · ${f.profile} · pair ${f.pair} · ${f.impl}: ${f.error}\n`);
  process.stdout.write(`report: ${join(outDir, 'results.md')}\nchart:  ${join(outDir, 'ratios.svg')}\ndata:   ${join(outDir, 'results.json')}\n`);
  if (opts.updateReadmes) {
    const changed = updateReadmes(repoRoot, { meta, rows, runs }, join(outDir, 'results.json'));
    process.stdout.write(`READMEs: ${changed.length ? changed.join(', ') : 'unchanged'}\n`);
  }
  return interrupted ? 130 : 0;
}

function describe(r: RunRecord): string {
  if (r.error) return `failed: ${r.error}`;
  const f = (key: string) => r.figures.find((x) => x.key === key);
  const parts = [`${r.objects} objects`];
  for (const key of ['converge_s', 'attach_converge_s', 'detach_converge_s', 'sync_s', 'throughput', 'p95_ms', 'detach_p95_ms', 'rss_steady_mib', 'cpu_s', 'api_requests']) {
    const x = f(key);
    if (x) parts.push(`${x.label} ${formatValue(x.value, x.unit)} ${x.unit}`);
  }
  return parts.join(', ');
}

let options: BenchOptions;
try {
  options = parseBenchArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof BenchUsageError) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
if (options.help) {
  process.stdout.write(USAGE);
} else {
  main(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
