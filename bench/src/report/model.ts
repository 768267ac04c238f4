// What a bench run records, and its reduction to one row per (scenario, profile, figure) with the
// median of each side over the pairs and the ratio ours/Go.
import type { RunBreakdown } from '../breakdown/breakdown.js';
import type { Better, Figure } from '../figures.js';
import { PROFILES, floorSeconds, type Impl, type ProfileId, type ScenarioId, type SidecarName, type Target, type TimeFloor } from '../catalogue.js';
import { median } from '../stats.js';

export interface RunRecord {
  scenario: ScenarioId;
  sidecar: SidecarName;
  profile: ProfileId;
  impl: Impl;
  /** 1-based pair number. */
  pair: number;
  objects: number;
  figures: Figure[];
  notes: string[];
  /** The sidecar's API requests by "verb resource", and the User-Agents seen. */
  requests?: { byCall: Record<string, number>; userAgents: string[] };
  /** Where the load's time went (not for idle runs, which have no load). */
  breakdown?: RunBreakdown;
  /** A run that failed (timeout, sidecar crash): its figures are not used. */
  error?: string;
}

export interface SkipRecord {
  scenario: ScenarioId;
  impl: Impl;
  reason: string;
}

export interface CeilingRecord {
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  concurrency: number;
}

export interface ReportRow {
  scenario: ScenarioId;
  profile: ProfileId;
  key: string;
  label: string;
  unit: string;
  better: Better;
  ours: number | undefined;
  go: number | undefined;
  /** ours / go, when both sides have a value and Go's is not 0. */
  ratio: number | undefined;
  oursRuns: number;
  goRuns: number;
  target?: Target;
  /** Whether the ratio is on the target's side; undefined without a target or a ratio. */
  meetsTarget?: boolean;
  /** Time figures with a floor in their target: the client rate limit's lower bound. */
  floor?: RowFloor;
}

export interface RowFloor extends TimeFloor {
  /** Objects the figure counts (converged objects of one run). */
  objects: number;
  qps: number;
  burst: number;
  /** (objects·minWrites − burst)/qps, at least 0. */
  seconds: number;
  /**
   * Whether ours could meet the target at all: the floor is within target ratio × Go's time.
   * Undefined without Go's time.
   */
  reachable?: boolean;
}

/** Objects a time figure counts in one run: its throughput × its time (same key prefix). */
export function objectsOf(run: RunRecord, timeKey: string): number | undefined {
  if (!timeKey.endsWith('converge_s')) return undefined;
  const prefix = timeKey.slice(0, -'converge_s'.length);
  const t = run.figures.find((f) => f.key === timeKey)?.value;
  const tp = run.figures.find((f) => f.key === `${prefix}throughput`)?.value;
  if (t === undefined || tp === undefined) return undefined;
  return Math.round(t * tp);
}

/** The floor of a target's time figure at a profile, for `objects` objects and Go's time. */
export function rowFloor(floor: TimeFloor, profile: ProfileId, objects: number, goSeconds: number | undefined, ratio: number): RowFloor {
  const { qps, burst } = PROFILES[profile];
  const seconds = floorSeconds(objects * floor.minWrites, { qps, burst });
  const out: RowFloor = { ...floor, objects, qps, burst, seconds };
  if (goSeconds !== undefined) out.reachable = seconds <= ratio * goSeconds;
  return out;
}

export function ratioOf(ours: number | undefined, go: number | undefined): number | undefined {
  if (ours === undefined || go === undefined || go === 0) return undefined;
  return ours / go;
}

export function meets(target: Target, ratio: number): boolean {
  return target.op === '>=' ? ratio >= target.ratio : ratio <= target.ratio;
}

/** Whether a ratio means ours did better on a figure (equal counts as not better). */
export function oursBetter(better: Better, ratio: number): boolean {
  return better === 'lower' ? ratio < 1 : ratio > 1;
}

export function aggregate(runs: readonly RunRecord[], targets: readonly Target[] = []): ReportRow[] {
  const rows = new Map<string, ReportRow & { oursValues: number[]; goValues: number[]; objects: number[] }>();
  for (const run of runs) {
    if (run.error) continue;
    for (const f of run.figures) {
      const id = `${run.scenario}\u0000${run.profile}\u0000${f.key}`;
      let row = rows.get(id);
      if (!row) {
        row = {
          scenario: run.scenario,
          profile: run.profile,
          key: f.key,
          label: f.label,
          unit: f.unit,
          better: f.better,
          ours: undefined,
          go: undefined,
          ratio: undefined,
          oursRuns: 0,
          goRuns: 0,
          oursValues: [],
          goValues: [],
          objects: [],
        };
        rows.set(id, row);
      }
      (run.impl === 'ours' ? row.oursValues : row.goValues).push(f.value);
      const n = objectsOf(run, f.key);
      if (n !== undefined) row.objects.push(n);
    }
  }
  const out: ReportRow[] = [];
  for (const { oursValues, goValues, objects, ...row } of rows.values()) {
    row.ours = median(oursValues);
    row.go = median(goValues);
    row.oursRuns = oursValues.length;
    row.goRuns = goValues.length;
    row.ratio = ratioOf(row.ours, row.go);
    const target = targets.find((t) => t.scenario === row.scenario && t.figure === row.key && (t.profile === undefined || t.profile === row.profile));
    if (target) {
      row.target = target;
      if (row.ratio !== undefined) row.meetsTarget = meets(target, row.ratio);
      // Runs of one scenario and profile converge the same number of objects; the largest guards
      // against a run that reported fewer.
      if (target.floor && objects.length > 0) row.floor = rowFloor(target.floor, row.profile, Math.max(...objects), row.go, target.ratio);
    }
    out.push(row);
  }
  return out;
}
