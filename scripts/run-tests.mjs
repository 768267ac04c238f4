#!/usr/bin/env node
// The whole test suite in one command (what `npm test` and .ci/run call):
//   1. build and type-check every package (tests included),
//   2. unit tests (jest, beside the code),
//   3. the Go components of the local control plane (cached; cold builds take minutes),
//   4. integration specs under e2e/ against that control plane.
// Ends with one plain "N passed, N failed" line, which CI reads (jest's own summary is not read).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const only = args.has('--unit') ? 'unit' : args.has('--integration') ? 'integration' : 'all';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `Node ${process.versions.node} is too old: this project needs Node >= 22.19 and brings Node 24 ` +
      'itself as a devDependency. Run `npm ci` first, then start tests with `npm test`.',
  );
  process.exit(1);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;

function run(cmd, argv, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
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

const totals = { passed: 0, failed: 0, skipped: 0 };
let hardFailure = false;
const out = mkdtempSync(join(tmpdir(), 'csi-sidecars-tests-'));

async function jest(name, config) {
  const resultFile = join(out, `${name}.json`);
  console.log(`\n=== ${name} tests (${elapsed()}) ===`);
  const code = await run(process.execPath, [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    join(root, 'node_modules/jest/bin/jest.js'),
    '--config',
    config,
    '--json',
    '--outputFile',
    resultFile,
  ]);
  try {
    const result = JSON.parse(readFileSync(resultFile, 'utf8'));
    totals.passed += result.numPassedTests;
    totals.failed += result.numFailedTests;
    totals.skipped += result.numPendingTests + result.numTodoTests;
    // A suite that fails to load has no failed test but must still fail the run.
    if (result.numRuntimeErrorTestSuites > 0 || (code !== 0 && result.numFailedTests === 0)) hardFailure = true;
  } catch {
    console.error(`${name}: jest wrote no result file (exit ${code})`);
    hardFailure = true;
  }
}

console.log(`=== build and type-check (Node ${process.versions.node}) ===`);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
if ((await run(join(root, 'node_modules/.bin/turbo'), ['run', 'build', 'typecheck', '--concurrency=2', '--output-logs=errors-only'], { env })) !== 0) {
  console.error('build or type-check failed');
  hardFailure = true;
}
// The benchmark is not a workspace package; type-check it too so it cannot rot unnoticed.
if (!hardFailure && (await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'bench/tsconfig.check.json'])) !== 0) {
  console.error('bench type-check failed');
  hardFailure = true;
}

if (!hardFailure && only !== 'integration') await jest('unit', 'jest.config.js');

if (!hardFailure && only !== 'unit') {
  console.log(`\n=== Go components of the local control plane (${elapsed()}) ===`);
  if ((await run('bash', [join(root, 'hack/build-go-components.sh')])) !== 0) {
    console.error('building the control plane failed; integration tests cannot run');
    hardFailure = true;
  } else {
    await jest('integration', 'jest.integration.config.js');
  }
}

rmSync(out, { recursive: true, force: true });
console.log(`\nTest run finished in ${elapsed()}.`);
if (hardFailure && totals.failed === 0) totals.failed = 1;
const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(totals.failed > 0 || hardFailure ? 1 : 0);
