// Command line (and environment) of `npm run bench`.
import { PROFILES, SCENARIO_GROUPS, SCENARIO_IDS, type ProfileId, type ScenarioId } from './catalogue.js';

export interface BenchOptions {
  /** Multiplies every scenario size (0.05 for a quick run). */
  scale: number;
  /** Ours/Go pairs per scenario and profile. */
  pairs: number;
  scenarios: ScenarioId[];
  profiles: ProfileId[];
  /** Also measure a plain client creating PVs with no limit. */
  ceiling: boolean;
  /** Results folder; default bench/results/<timestamp>. */
  outDir: string | undefined;
  /** --v given to both sidecars. */
  verbosity: number;
  /** Keep the control plane's working folder (logs) afterwards. */
  keep: boolean;
  /** Profile ours (node --cpu-prof) in the first pair of every load scenario. */
  cpuProf: boolean;
  /** Afterwards, write the results into the packages' READMEs ("Performance (latest bench)"). */
  updateReadmes: boolean;
  /** --quick was given (the sizes below are then QUICK's unless set explicitly). */
  quick: boolean;
  help: boolean;
}

/** `--quick`: every scenario at a fifth of its size (go-defaults runs keep 20 objects), one pair; ~10 min after the builds. */
export const QUICK = { scale: 0.2, pairs: 1 } as const;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export const USAGE = `npm run bench -- [options]

  --quick              a quick size: --scale ${QUICK.scale} --pairs ${QUICK.pairs} (explicit --scale/--pairs win)
  --scale <x>          multiply every scenario size (default 1)                           env BENCH_SCALE
  --pairs <n>          ours/Go pairs per scenario and profile, run alternately (default 3) env BENCH_PAIRS
  --scenarios <list>   comma-separated scenarios or groups (default: all)                 env BENCH_SCENARIOS
                       ${SCENARIO_IDS.join(', ')}
                       groups: ${Object.keys(SCENARIO_GROUPS).join(', ')}
  --profiles <list>    ${Object.keys(PROFILES).join(', ')} (default: both)                       env BENCH_PROFILES
  --no-ceiling         skip the plain-client ceiling measurement
  --out <dir>          results folder (default bench/results/<timestamp>)
  --v <n>              log verbosity given to both sidecars (default 2)
  --keep               keep the control plane's working folder (component logs)
  --no-cpu-prof        do not profile ours (by default: node --cpu-prof in pair 1 of each load scenario)
  --update-readmes     afterwards, write the figures into packages/*/README.md ("Performance (latest bench)")
`;

function positiveNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new BenchUsageError(`${flag}: expected a positive number, got "${raw}"`);
  return n;
}

function positiveInt(flag: string, raw: string): number {
  const n = positiveNumber(flag, raw);
  if (!Number.isInteger(n)) throw new BenchUsageError(`${flag}: expected a whole number, got "${raw}"`);
  return n;
}

function scenarioList(flag: string, raw: string): ScenarioId[] {
  const out: ScenarioId[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const group = SCENARIO_GROUPS[part];
    const ids = group ?? ((SCENARIO_IDS as readonly string[]).includes(part) ? [part as ScenarioId] : undefined);
    if (!ids) throw new BenchUsageError(`${flag}: unknown scenario "${part}" (known: ${SCENARIO_IDS.join(', ')}; groups: ${Object.keys(SCENARIO_GROUPS).join(', ')})`);
    for (const id of ids) if (!out.includes(id)) out.push(id);
  }
  if (out.length === 0) throw new BenchUsageError(`${flag}: no scenario named`);
  // Keep the catalogue's order: idle scenarios fill the cluster with 10k objects and come last.
  return SCENARIO_IDS.filter((id) => out.includes(id));
}

function profileList(flag: string, raw: string): ProfileId[] {
  const out: ProfileId[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(part in PROFILES)) throw new BenchUsageError(`${flag}: unknown profile "${part}" (known: ${Object.keys(PROFILES).join(', ')})`);
    if (!out.includes(part as ProfileId)) out.push(part as ProfileId);
  }
  if (out.length === 0) throw new BenchUsageError(`${flag}: no profile named`);
  return out;
}

export function parseBenchArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): BenchOptions {
  const o: BenchOptions = {
    scale: env.BENCH_SCALE ? positiveNumber('BENCH_SCALE', env.BENCH_SCALE) : 1,
    pairs: env.BENCH_PAIRS ? positiveInt('BENCH_PAIRS', env.BENCH_PAIRS) : 3,
    scenarios: env.BENCH_SCENARIOS ? scenarioList('BENCH_SCENARIOS', env.BENCH_SCENARIOS) : [...SCENARIO_IDS],
    profiles: env.BENCH_PROFILES ? profileList('BENCH_PROFILES', env.BENCH_PROFILES) : ['go-defaults', 'lifted'],
    ceiling: true,
    outDir: undefined,
    verbosity: 2,
    keep: false,
    cpuProf: true,
    updateReadmes: false,
    quick: false,
    help: false,
  };
  let explicitScale = false;
  let explicitPairs = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${name}: missing value`);
      i++;
      return next;
    };
    switch (name) {
      case '--scale':
        o.scale = positiveNumber(name, value());
        explicitScale = true;
        break;
      case '--pairs':
        o.pairs = positiveInt(name, value());
        explicitPairs = true;
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--no-cpu-prof':
        o.cpuProf = false;
        break;
      case '--update-readmes':
        o.updateReadmes = true;
        break;
      case '--scenarios':
        o.scenarios = scenarioList(name, value());
        break;
      case '--profiles':
        o.profiles = profileList(name, value());
        break;
      case '--no-ceiling':
        o.ceiling = false;
        break;
      case '--out':
        o.outDir = value();
        break;
      case '--v': {
        const raw = value();
        const v = Number(raw);
        if (!Number.isInteger(v) || v < 0) throw new BenchUsageError(`--v: expected a whole number >= 0, got "${raw}"`);
        o.verbosity = v;
        break;
      }
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new BenchUsageError(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  if (o.quick) {
    if (!explicitScale) o.scale = QUICK.scale;
    if (!explicitPairs) o.pairs = QUICK.pairs;
  }
  return o;
}
