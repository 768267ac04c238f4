#!/usr/bin/env node
// `npm run chaos`: the full chaos suite (e2e/specs/chaos with CSI_CHAOS_EXTENDED=1) against our
// sidecars and the real Go ones on the local control plane, then one table side by side —
// scenario, Go outcome, our outcome (leaked volumes, stuck objects, time to converge) — printed
// and written as Markdown to test-results/chaos/<time>/results.md (also test-results/chaos/latest.md).
// Extra arguments go to jest (e.g. a spec file, or -t 'row 8'). CSI_CHAOS_IMPLS=ours|go runs one side;
// CSI_CHAOS_OUT=<results dir> re-runs some scenarios into an earlier run's table.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
// CSI_CHAOS_OUT=<dir> adds to an earlier run's results (a scenario run again replaces its line in the table).
const out = process.env.CSI_CHAOS_OUT || join(root, 'test-results', 'chaos', stamp);
mkdirSync(out, { recursive: true });
const resultsFile = join(out, 'results.jsonl');

function run(cmd, argv, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit', env });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const started = Date.now();
const turboEnv = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
if ((await run(join(root, 'node_modules/.bin/turbo'), ['run', 'build', '--output-logs=errors-only'], turboEnv)) !== 0) {
  console.error('build failed');
  process.exit(1);
}
if ((await run('bash', [join(root, 'hack/build-go-components.sh')])) !== 0) {
  console.error('building the control plane (Go components) failed');
  process.exit(1);
}

const env = { ...process.env, CSI_CHAOS_EXTENDED: '1', CSI_CHAOS_RESULTS: resultsFile };
const args = process.argv.slice(2);
const code = await run(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    join(root, 'node_modules/jest/bin/jest.js'),
    '--config',
    'jest.integration.config.js',
    ...(args.length ? args : ['e2e/specs/chaos']),
  ],
  env,
);

process.env.CSI_CHAOS_RESULTS = resultsFile;
const { readResults, comparisonTable } = await import(pathToFileURL(join(root, 'e2e/dist/faults/results.js')).href);
const results = existsSync(resultsFile) ? readResults() : [];
const table = comparisonTable(results);
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`;
const md = [
  `# Chaos suite results, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `Full variants (CSI_CHAOS_EXTENDED=1), ${results.length} scenario runs in ${minutes} min; jest exit ${code}.`,
  `Machine: ${machine}.`,
  'Ours is asserted clean by the specs; the Go sidecars (external-provisioner v6.3.0, external-attacher v4.12.0, external-resizer v2.2.0) are recorded.',
  'Converged = time from the end of the fault to a clean inventory (or the scenario\'s own check).',
  '',
  table,
  '',
].join('\n');
writeFileSync(join(out, 'results.md'), md);
copyFileSync(join(out, 'results.md'), join(root, 'test-results', 'chaos', 'latest.md'));
console.log(`\n${table}\n\nwritten to ${join(out, 'results.md')} (raw lines: ${resultsFile})`);
process.exit(code);
