#!/usr/bin/env node
// `npm run soak [-- --claims 100 --seed 7 ...]`: the soak of issue 9 on a control plane of its
// own (loopback only). Prints a summary and exits 1 on any leak, stuck object or a run that did
// not converge within its bound.
import { parseArgs } from 'node:util';
import { formatReport, runSoak, type SoakOptions } from './soak.js';

const USAGE = `usage: npm run soak -- [options]
  --claims N             claims to run through create/attach/expand/delete (default 1000)
  --concurrency N        claims in flight at once (default 100)
  --seed N               seed of the fault schedule (default random; printed)
  --plugin-every MS      mean time between plugin losses (default 6000)
  --plugin-down MS       how long the plugin's socket stays away (default 1000)
  --apiserver-restarts N (default 2)
  --sidecar-kills N      SIGKILLs at random points (default 5)
  --timeout S            bound for the workload under faults, seconds (default 120 + 1.5 per claim)
  --converge-timeout S   then, faults stopped, bound for everything done and clean (default 120)
  --v N                  sidecar verbosity (default 2)
  --keep                 keep the working folder with every log`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      claims: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      'plugin-every': { type: 'string' },
      'plugin-down': { type: 'string' },
      'apiserver-restarts': { type: 'string' },
      'sidecar-kills': { type: 'string' },
      timeout: { type: 'string' },
      'converge-timeout': { type: 'string' },
      v: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  }));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const opts: SoakOptions = { keep: values.keep ?? false };
const set = <K extends keyof SoakOptions>(k: K, v: SoakOptions[K] | undefined) => {
  if (v !== undefined) opts[k] = v;
};
set('claims', int('claims', values.claims));
set('concurrency', int('concurrency', values.concurrency));
set('seed', int('seed', values.seed));
set('pluginKillEveryMs', int('plugin-every', values['plugin-every']));
set('pluginDownMs', int('plugin-down', values['plugin-down']));
set('apiserverRestarts', int('apiserver-restarts', values['apiserver-restarts']));
set('sidecarKills', int('sidecar-kills', values['sidecar-kills']));
const timeout = int('timeout', values.timeout);
if (timeout !== undefined) opts.timeoutMs = timeout * 1000;
const converge = int('converge-timeout', values['converge-timeout']);
if (converge !== undefined) opts.convergeTimeoutMs = converge * 1000;
set('verbosity', int('v', values.v));
for (const [flag, v] of [['claims', opts.claims], ['concurrency', opts.concurrency]] as const) {
  if (v === 0) {
    process.stderr.write(`--${flag} must be at least 1\n${USAGE}\n`);
    process.exit(2);
  }
}

// process.exit runs the harness's exit hook, which kills every process it started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
try {
  const report = await runSoak(opts);
  process.stdout.write(`${formatReport(report)}\n`);
  if (opts.keep) process.stdout.write(`logs kept in ${report.workDir}/logs\n`);
  process.exitCode = report.ok ? 0 : 1;
} catch (err) {
  process.stderr.write(`soak failed to run: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
