// The benchmark harness itself (npm run bench), on its smallest size: every scenario, ours and the
// real Go sidecar, 4–10 objects each, one pair, limits lifted. It checks that the machinery works
// — both sides converge everywhere, every figure is positive and plausible, ratios are finite,
// the report files are written — never how fast anything is.
//
// The bench starts its own control plane (bench/src/cluster.ts → the harness's ControlPlane: its
// own temp folder, free ports, pids recorded under this process), so it does not touch the
// suite's shared one; it is run as a child process, `node bench/dist/run.js`, compiled here
// from bench/src (tsc -p bench, which needs `npm run build` first, as every spec does).
// About 3 minutes on 2 busy cores, plus, on a machine where the Go sidecars were never built, their
// cold build (~13 minutes on 2 cores; done here or by the chaos specs, whichever runs first).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/harness/paths.js';

/** What this spec reads from results.json (the bench's own types live under bench/src). */
interface Figure {
  key: string;
  value: number;
}
interface Run {
  scenario: string;
  impl: 'ours' | 'go';
  objects: number;
  figures: Figure[];
  error?: string;
  breakdown?: {
    requests: number;
    cpuSeconds: number;
    metrics?: { csi: Record<string, { count: number; sum: number }>; work: Record<string, { count: number; sum: number }> };
    profile?: { windowMs: number; busyMs: number; functions: unknown[] };
  };
}
interface Results {
  skips: Array<{ scenario: string; impl: string; reason: string }>;
  runs: Run[];
  rows: Array<{ scenario: string; key: string; ours?: number; go?: number; ratio?: number }>;
}

const SCENARIOS = [
  'provision',
  'provision-wffc',
  'delete',
  'expand',
  'attach-detach',
  'detach-under-attach-flood',
  'idle-provisioner',
  'idle-attacher',
  'idle-resizer',
];
const BENCH_ARGS = ['--scale', '0.001', '--pairs', '1', '--profiles', 'lifted', '--no-ceiling'];
const MIB_MIN = 10;
const MIB_MAX = 4096;

let outDir: string;
let bench: ChildProcess | undefined;
let exitCode: number | null = null;
let output = '';
let results: Results;

/** Stops the bench the way a user would (Ctrl-C: it stops its control plane), then harder. */
async function stopBench(): Promise<void> {
  const child = bench;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  child.kill('SIGINT');
  if (await within(60_000)) return;
  child.kill('SIGINT'); // a second Ctrl-C exits at once, killing its children on the way out
  if (await within(15_000)) return;
  child.kill('SIGKILL');
}

beforeAll(async () => {
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'bench/tsconfig.json')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`compiling bench/ failed (run \`npm run build\` first):\n${tsc.stdout}${tsc.stderr}`);
  outDir = mkdtempSync(join(tmpdir(), 'csi-bench-selftest-'));
  bench = spawn(process.execPath, [join(repoRoot, 'bench/dist/run.js'), ...BENCH_ARGS, '--out', outDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  bench.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  bench.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  exitCode = await new Promise<number | null>((resolve) => bench!.once('exit', (code) => resolve(code)));
  const file = join(outDir, 'results.json');
  if (!existsSync(file)) throw new Error(`the bench wrote no results.json (exit ${exitCode}):\n${output.slice(-3000)}`);
  results = JSON.parse(readFileSync(file, 'utf8')) as Results;
}, 40 * 60_000);

afterAll(async () => {
  await stopBench();
  // Kept when something failed, for its logs.
  if (outDir && exitCode === 0 && results?.runs.every((r) => !r.error)) rmSync(outDir, { recursive: true, force: true });
  else if (outDir) process.stderr.write(`bench self-test output kept in ${outDir}\n`);
});

const value = (run: Run, key: string) => run.figures.find((f) => f.key === key)?.value;

describe('npm run bench on its smallest size', () => {
  it('runs to completion with both sides runnable, every scenario measured on both', () => {
    expect({ exitCode, tail: exitCode === 0 ? '' : output.slice(-2000) }).toEqual({ exitCode: 0, tail: '' });
    expect(results.skips).toEqual([]);
    for (const scenario of SCENARIOS) {
      for (const impl of ['ours', 'go'] as const) {
        const runs = results.runs.filter((r) => r.scenario === scenario && r.impl === impl);
        expect({ scenario, impl, runs: runs.length, errors: runs.map((r) => r.error).filter(Boolean) }).toEqual({ scenario, impl, runs: 1, errors: [] });
      }
    }
  });

  it('has both sides converge on every object, with positive throughput and ordered percentiles', () => {
    for (const run of results.runs.filter((r) => !r.scenario.startsWith('idle-'))) {
      const where = `${run.scenario}/${run.impl}`;
      expect({ where, objects: run.objects >= 4 }).toEqual({ where, objects: true });
      const throughputs = run.figures.filter((f) => f.key.endsWith('throughput'));
      expect({ where, phases: throughputs.length > 0 }).toEqual({ where, phases: true });
      for (const t of throughputs) {
        const prefix = t.key.slice(0, -'throughput'.length);
        const converge = value(run, `${prefix}converge_s`);
        const [p50, p95, p99] = ['p50_ms', 'p95_ms', 'p99_ms'].map((k) => value(run, `${prefix}${k}`));
        const plausible = {
          throughput: t.value > 0 && Number.isFinite(t.value),
          converge: converge !== undefined && converge > 0,
          percentiles: p50 !== undefined && p95 !== undefined && p99 !== undefined && p50 >= 0 && p50 <= p95 && p95 <= p99,
        };
        expect({ where, prefix, ...plausible }).toEqual({ where, prefix, throughput: true, converge: true, percentiles: true });
      }
    }
  });

  it('measures memory, CPU, start-up and API requests within plausible bounds', () => {
    for (const run of results.runs) {
      const where = `${run.scenario}/${run.impl}`;
      const peak = value(run, 'rss_peak_mib');
      const steady = value(run, 'rss_steady_mib');
      const requests = value(run, 'api_requests');
      const idle = run.scenario.startsWith('idle-');
      const plausible = {
        peak: peak !== undefined && peak >= MIB_MIN && peak <= MIB_MAX,
        steady: steady !== undefined && steady >= MIB_MIN && steady <= (peak ?? 0) + 1,
        cpu: (value(run, 'cpu_s') ?? -1) >= 0 && (value(run, 'cpu_total_s') ?? 0) > 0,
        // Idle runs do no work: a few lists and watches against their 2×N objects.
        requests: requests !== undefined && (idle ? requests > 0 : requests >= run.objects),
        sync: !idle || (value(run, 'sync_s') ?? 0) > 0,
      };
      expect({ where, ...plausible }).toEqual({ where, peak: true, steady: true, cpu: true, requests: true, sync: true });
    }
  });

  it('aggregates into finite ratios and says where the time went', () => {
    const rows = results.rows.filter((r) => r.ratio !== undefined);
    expect(rows.length).toBeGreaterThan(SCENARIOS.length * 3);
    for (const r of rows) expect({ row: `${r.scenario}/${r.key}`, finite: Number.isFinite(r.ratio) && r.ratio! >= 0 }).toEqual({ row: `${r.scenario}/${r.key}`, finite: true });
    for (const scenario of SCENARIOS.filter((s) => !s.startsWith('idle-'))) {
      expect(rows.some((r) => r.scenario === scenario && r.key.endsWith('throughput') && r.ratio! > 0)).toBe(true);
      for (const run of results.runs.filter((r) => r.scenario === scenario)) {
        const b = run.breakdown;
        const where = `${scenario}/${run.impl}`;
        const seen = {
          requests: (b?.requests ?? 0) > 0,
          // both sides serve csi_sidecar_operations_seconds and the work-queue histograms
          csiCalls: Object.values(b?.metrics?.csi ?? {}).some((c) => c.count > 0),
          queues: Object.values(b?.metrics?.work ?? {}).some((c) => c.count > 0),
          profile: run.impl === 'go' || (b?.profile !== undefined && b.profile.windowMs > 0),
        };
        expect({ where, ...seen }).toEqual({ where, requests: true, csiCalls: true, queues: true, profile: true });
      }
    }
  });

  it('writes the markdown report, the SVG chart and the logs', () => {
    const md = readFileSync(join(outDir, 'results.md'), 'utf8');
    for (const scenario of SCENARIOS) expect(md).toContain(`## ${scenario} (csi-`);
    expect(md.split('### Where the time goes').length - 1).toBe(SCENARIOS.filter((s) => !s.startsWith('idle-')).length);
    expect(md).toContain("Ours' CPU profile during the load");
    const svg = readFileSync(join(outDir, 'ratios.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(SCENARIOS.length);
    expect(readFileSync(join(outDir, 'bench.log'), 'utf8')).toContain('cleaned up');
    expect(existsSync(join(outDir, 'logs', 'provision-l1-ours.log'))).toBe(true);
  });
});
