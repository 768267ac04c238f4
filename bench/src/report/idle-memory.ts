// Idle memory at two sizes of the idle data set: each side's steady RSS at both, the straight line
// through them (MiB per 1000 objects, and the baseline at 0 objects), and where ours/Go would
// cross the memory target if both lines went on (an extrapolation, labelled as one).
import { SCENARIOS, SCENARIO_IDS, type ProfileId, type ScenarioId, type SidecarName } from '../catalogue.js';
import { formatRatio, formatValue } from './format.js';
import type { ReportRow, RunRecord } from './model.js';

export interface Line {
  /** MiB per 1000 objects. */
  slope: number;
  /** MiB at 0 objects: the process's own baseline. */
  intercept: number;
}

export interface IdleMemory {
  sidecar: SidecarName;
  profile: ProfileId;
  small: { scenario: ScenarioId; objects: number; ours?: number; go?: number };
  large: { scenario: ScenarioId; objects: number; ours?: number; go?: number; row: ReportRow };
  ours?: Line;
  go?: Line;
  /** The memory target's ratio (from the large size's row). */
  targetRatio?: number;
  /**
   * Objects at which ours/Go would reach the target ratio along both lines: a number beyond the
   * larger size, 'already' when the larger size meets it, 'never' when the lines do not get there,
   * 'unresolved' when a side's RSS did not grow from the smaller size to the larger (its slope is
   * noise, not memory per object, and no line through it says anything).
   */
  reachesTargetAt?: number | 'already' | 'never' | 'unresolved';
}

/** The straight line through two (objects, MiB) points; undefined when a value is missing. */
export function lineThrough(x1: number, y1: number | undefined, x2: number, y2: number | undefined): Line | undefined {
  if (y1 === undefined || y2 === undefined || x1 === x2) return undefined;
  const slope = (y2 - y1) / ((x2 - x1) / 1000);
  return { slope, intercept: y1 - (slope * x1) / 1000 };
}

/**
 * Objects at which ours(x)/go(x) = ratio, beyond `from` objects; 'never' if the lines do not meet
 * that ratio there (e.g. ours grows faster per object than ratio × Go's).
 */
export function crossingAt(ours: Line, go: Line, ratio: number, from: number): number | 'never' {
  // ours.intercept + ours.slope·k = ratio·(go.intercept + go.slope·k), k in thousands of objects
  const denominator = ours.slope - ratio * go.slope;
  if (denominator === 0) return 'never';
  const k = (ratio * go.intercept - ours.intercept) / denominator;
  const objects = k * 1000;
  if (!Number.isFinite(objects) || objects <= from) return 'never';
  // Both sides must still have positive memory there, or the "ratio" means nothing.
  if (go.intercept + go.slope * k <= 0) return 'never';
  return objects;
}

/** Objects in a run of a scenario at a profile (the runs know; older results fall back to sizes). */
type ObjectsOf = (scenario: ScenarioId, profile: ProfileId) => number | undefined;

export function objectsFromRuns(runs: readonly RunRecord[], pairsBySize?: Partial<Record<ScenarioId, Partial<Record<string, number>>>>): ObjectsOf {
  return (scenario, profile) => {
    const run = runs.find((r) => r.scenario === scenario && r.profile === profile && !r.error);
    if (run) return run.objects;
    const pairs = pairsBySize?.[scenario]?.[profile];
    return pairs === undefined ? undefined : 2 * pairs;
  };
}

/** One entry per larger-size idle scenario (and profile) that has its smaller twin in `rows`. */
export function idleMemory(rows: readonly ReportRow[], objectsOf: ObjectsOf): IdleMemory[] {
  const out: IdleMemory[] = [];
  for (const id of SCENARIO_IDS) {
    const base = SCENARIOS[id].idleBase;
    if (!base) continue;
    for (const large of rows.filter((r) => r.scenario === id && r.key === 'rss_steady_mib')) {
      const small = rows.find((r) => r.scenario === base && r.profile === large.profile && r.key === 'rss_steady_mib');
      const xLarge = objectsOf(id, large.profile);
      const xSmall = objectsOf(base, large.profile);
      if (!small || xLarge === undefined || xSmall === undefined) continue;
      const entry: IdleMemory = {
        sidecar: SCENARIOS[id].sidecar,
        profile: large.profile,
        small: { scenario: base, objects: xSmall, ours: small.ours, go: small.go },
        large: { scenario: id, objects: xLarge, ours: large.ours, go: large.go, row: large },
      };
      const ours = lineThrough(xSmall, small.ours, xLarge, large.ours);
      const go = lineThrough(xSmall, small.go, xLarge, large.go);
      if (ours) entry.ours = ours;
      if (go) entry.go = go;
      if (large.target) {
        entry.targetRatio = large.target.ratio;
        if (large.meetsTarget) entry.reachesTargetAt = 'already';
        else if (ours && go) entry.reachesTargetAt = ours.slope <= 0 || go.slope <= 0 ? 'unresolved' : crossingAt(ours, go, large.target.ratio, xLarge);
      }
      out.push(entry);
    }
  }
  return out;
}

function thousands(objects: number): string {
  return objects >= 1000 ? `${+(objects / 1000).toFixed(1)}k` : String(Math.round(objects));
}

function lineText(l: Line | undefined): string {
  return l ? `${l.slope.toFixed(2)} MiB / 1000 objects + ${l.intercept.toFixed(1)} MiB` : '–';
}

/** What the extrapolation says, in words. */
export function crossingText(m: IdleMemory): string {
  if (m.targetRatio === undefined || m.reachesTargetAt === undefined) return '–';
  const goal = formatRatio(m.targetRatio);
  if (m.reachesTargetAt === 'already') return `already ≤ ${goal} at ${thousands(m.large.objects)} objects`;
  if (m.reachesTargetAt === 'unresolved') {
    const flat = [m.ours && m.ours.slope <= 0 ? 'ours' : undefined, m.go && m.go.slope <= 0 ? 'Go' : undefined].filter(Boolean).join(' and ');
    return `not extrapolated: ${flat} RSS did not grow from ${thousands(m.small.objects)} to ${thousands(m.large.objects)} objects (the difference is noise, not memory per object)`;
  }
  if (m.reachesTargetAt === 'never') {
    const limit = m.ours && m.go && m.go.slope > 0 ? ` (ours/Go tends to ${formatRatio(m.ours.slope / m.go.slope)} as objects grow)` : '';
    return `never by linear extrapolation${limit}`;
  }
  return `≈ ${thousands(m.reachesTargetAt)} objects (${thousands(m.reachesTargetAt / 2)} volumes), by linear extrapolation`;
}

/** The markdown section: one row per sidecar with both sizes, both lines and the extrapolation. */
export function renderIdleMemory(entries: readonly IdleMemory[]): string[] {
  if (entries.length === 0) return [];
  const out = [
    '## Idle memory at two sizes',
    '',
    'Steady RSS of the idle runs at both sizes of the idle data set (medians), the straight line through them per side (slope per 1000 PVC+PV objects, and the intercept: the baseline with no objects), and the object count at which ours/Go would reach the memory target if both lines went on. Two points make a line, not a proof of linearity: the crossing is an **extrapolation**.',
    '',
    '| sidecar · limits | RSS ours (MiB) | RSS Go (MiB) | ours/Go | ours: slope + baseline | Go: slope + baseline | ours/Go reaches the target at |',
    '|---|--:|--:|--:|---|---|---|',
  ];
  for (const m of entries) {
    const size = (x: number) => `${thousands(x)} objects`;
    for (const [i, s] of [m.small, m.large].entries()) {
      const ratio = s.ours !== undefined && s.go !== undefined && s.go !== 0 ? s.ours / s.go : undefined;
      const target = i === 1 && m.large.row.target ? `; target ${formatRatio(m.large.row.target.ratio)}: ${m.large.row.meetsTarget === undefined ? 'n/a' : m.large.row.meetsTarget ? 'meets' : 'misses'}` : '';
      out.push(
        `| csi-${m.sidecar} · ${m.profile}, ${size(s.objects)} | ${formatValue(s.ours, 'MiB')} | ${formatValue(s.go, 'MiB')} | ${formatRatio(ratio)}${target} | ${i === 0 ? lineText(m.ours) : ''} | ${i === 0 ? lineText(m.go) : ''} | ${i === 0 ? crossingText(m) : ''} |`,
      );
    }
  }
  out.push('');
  return out;
}

/** One sentence per sidecar for its README. */
export function idleMemorySentence(m: IdleMemory): string {
  const at = (x: number, o: number | undefined, g: number | undefined) => `${formatValue(o, 'MiB')} vs ${formatValue(g, 'MiB')} MiB at ${thousands(x)} objects`;
  return (
    `Idle memory (ours vs Go): ${at(m.small.objects, m.small.ours, m.small.go)}, ${at(m.large.objects, m.large.ours, m.large.go)} (${thousands(m.large.objects / 2)} volumes). ` +
    `Per side, slope + baseline: ours ${lineText(m.ours)}, Go ${lineText(m.go)}. ` +
    `Ours/Go reaches ${m.targetRatio === undefined ? 'the target' : formatRatio(m.targetRatio)}: ${crossingText(m)}.`
  );
}
