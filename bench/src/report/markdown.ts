// The results as markdown: one table per scenario with the median of each side and ours/Go.
import { CEILING_SHARE_TARGET, PROFILES, SCENARIOS, type ScenarioId } from '../catalogue.js';
import { renderBreakdown, type BreakdownGroup } from '../breakdown/breakdown.js';
import { floorLines, floorVerdict, renderFloorSection } from './floor.js';
import { formatRatio, formatValue } from './format.js';
import { idleMemory, idleMemorySentence, objectsFromRuns, renderIdleMemory } from './idle-memory.js';
import { oursBetter, type CeilingRecord, type ReportRow, type RunRecord, type SkipRecord } from './model.js';

export { formatRatio, formatValue } from './format.js';

export interface ReportMeta {
  startedAt: string;
  durationSeconds: number;
  scale: number;
  pairs: number;
  machine: string;
  versions: string;
  /** Objects per (scenario, profile), as run. */
  sizes: Partial<Record<ScenarioId, Partial<Record<string, number>>>>;
  notes: string[];
}

function verdict(row: ReportRow): string {
  const parts: string[] = [];
  if (row.ratio !== undefined) parts.push(row.ratio === 1 ? 'same' : oursBetter(row.better, row.ratio) ? 'ours better' : 'Go better');
  if (row.target) {
    const goal = `target ${row.target.op === '>=' ? '≥' : '≤'} ${formatRatio(row.target.ratio)}`;
    parts.push(row.meetsTarget === undefined ? `${goal}: n/a` : `${goal}: ${row.meetsTarget ? 'meets' : 'misses'}`);
    const floor = floorVerdict(row);
    if (floor && row.meetsTarget === false) parts[parts.length - 1] += ` — ${floor}`;
  }
  return parts.join('; ');
}

function escapeCell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Each profile's breakdowns of one scenario, per side (failed runs left out). */
export function breakdownGroups(runs: readonly RunRecord[], scenario: ScenarioId): BreakdownGroup[] {
  const groups: BreakdownGroup[] = [];
  for (const profile of Object.keys(PROFILES)) {
    const mine = runs.filter((r) => r.scenario === scenario && r.profile === profile && !r.error && r.breakdown);
    if (mine.length === 0) continue;
    groups.push({ profile, ours: mine.filter((r) => r.impl === 'ours').map((r) => r.breakdown!), go: mine.filter((r) => r.impl === 'go').map((r) => r.breakdown!) });
  }
  return groups;
}

/** How close provisioning with lifted limits came to the plain client's rate, ours and Go. */
export function ceilingShareLine(rows: readonly ReportRow[], ceilingPerSecond: number): string | undefined {
  const tp = rows.find((r) => r.scenario === 'provision' && r.profile === 'lifted' && r.key === 'throughput');
  if (!tp || ceilingPerSecond <= 0) return undefined;
  const pct = (v: number | undefined) => (v === undefined ? '–' : `${Math.round((v / ceilingPerSecond) * 100)}%`);
  const verdict = tp.ours === undefined ? 'no value' : tp.ours / ceilingPerSecond >= CEILING_SHARE_TARGET ? 'meets' : 'misses';
  return `With limits lifted, provisioning reached **${pct(tp.ours)}** of that ceiling (Go ${pct(tp.go)}); target for ours ≥ ${Math.round(CEILING_SHARE_TARGET * 100)}%: ${verdict}.`;
}

export function renderMarkdown(
  meta: ReportMeta,
  rows: readonly ReportRow[],
  skips: readonly SkipRecord[],
  ceiling: CeilingRecord | undefined,
  runs: readonly RunRecord[] = [],
): string {
  const out: string[] = [];
  out.push('# csi-sidecars-ts vs the Go sidecars', '');
  out.push(`Run ${meta.startedAt}, ${Math.round(meta.durationSeconds)} s, scale ${meta.scale}${meta.scale < 1 ? ' (scaled down: sizes below the defaults)' : ''}, ${meta.pairs} pair(s) per scenario and profile.`);
  out.push(`Machine: ${meta.machine}. ${meta.versions}.`, '');
  out.push('Each value is the median over the pairs; **ours/Go** is the ratio of those medians (for "lower is better" figures below 1× means ours did better). Ratios only: absolute times depend on the machine.', '');
  if (ceiling) {
    out.push(
      `Ceiling: a plain client with no limit created ${ceiling.objects} PVs in ${ceiling.seconds.toFixed(2)} s = **${ceiling.objectsPerSecond.toFixed(0)} objects/s** (${ceiling.concurrency} requests in flight): the most any sidecar could reach here.`,
      '',
    );
    const share = ceilingShareLine(rows, ceiling.objectsPerSecond);
    if (share) out.push(share, '');
  }
  for (const n of meta.notes) out.push(`- ${n}`);
  if (meta.notes.length) out.push('');
  out.push(...renderFloorSection(rows));
  const memory = idleMemory(rows, objectsFromRuns(runs, meta.sizes));
  out.push(...renderIdleMemory(memory));
  if (memory.length === 0 && rows.some((r) => r.scenario.startsWith('idle-') && r.key === 'rss_steady_mib'))
    out.push('## Idle memory at two sizes', '', 'This run has one idle size only: no slope, and no memory target evaluated (it is set at 10k volumes, the `idle-*-10k-volumes` scenarios).', '');

  const scenarioIds = [...new Set([...rows.map((r) => r.scenario), ...skips.map((s) => s.scenario)])];
  for (const id of scenarioIds) {
    const info = SCENARIOS[id];
    out.push(`## ${id} (csi-${info.sidecar})`, '', info.title + '.', '');
    const sizes = meta.sizes[id];
    if (sizes) out.push(`${id.startsWith('idle-') ? 'Bound PVC/PV pairs' : 'Objects'}: ${Object.entries(sizes).map(([p, n]) => `${n} at ${p}`).join(', ')}.`, '');
    for (const s of skips.filter((k) => k.scenario === id)) out.push(`- ${s.impl === 'ours' ? 'ours' : 'Go'}: not runnable: ${s.reason}`);
    if (skips.some((k) => k.scenario === id)) out.push('');
    const mine = rows.filter((r) => r.scenario === id);
    if (mine.length === 0) continue;
    out.push('| profile | figure | ours | Go | ours/Go | |', '|---|---|--:|--:|--:|---|');
    for (const r of mine) {
      const runCounts = r.oursRuns === r.goRuns ? '' : ` (runs: ${r.oursRuns}/${r.goRuns})`;
      out.push(
        `| ${PROFILES[r.profile].id} | ${escapeCell(r.label)} (${r.unit}) | ${formatValue(r.ours, r.unit)} | ${formatValue(r.go, r.unit)} | ${formatRatio(r.ratio)} | ${escapeCell(verdict(r) + runCounts)} |`,
      );
    }
    out.push('');
    out.push(...floorLines(mine));
    out.push(...renderBreakdown(breakdownGroups(runs, id)));
  }
  return out.join('\n');
}

/** A few lines for the terminal: the targets and the headline figures. */
export function renderSummary(rows: readonly ReportRow[], skips: readonly SkipRecord[], runs: readonly RunRecord[] = []): string {
  const out: string[] = [];
  const headline = new Set(['throughput', 'p95_ms', 'detach_p95_ms', 'attach_throughput', 'rss_steady_mib', 'sync_s', 'api_requests']);
  for (const r of rows) {
    if (!headline.has(r.key) && !r.target) continue;
    const floor = r.meetsTarget === false ? floorVerdict(r) : undefined;
    const target = r.target ? `  [${r.target.text}: ${r.meetsTarget === undefined ? 'n/a' : r.meetsTarget ? 'meets' : 'misses'}${floor ? ` — ${floor}` : ''}]` : '';
    out.push(
      `${`${r.scenario} · ${r.profile}`.padEnd(38)} ${r.label.padEnd(28)} ours ${formatValue(r.ours, r.unit).padStart(8)}  Go ${formatValue(r.go, r.unit).padStart(8)} ${r.unit.padEnd(9)} ours/Go ${formatRatio(r.ratio).padStart(6)}${target}`,
    );
  }
  for (const m of idleMemory(rows, objectsFromRuns(runs))) out.push(`csi-${m.sidecar} · ${m.profile}: ${idleMemorySentence(m)}`);
  for (const s of skips) out.push(`${s.scenario}: ${s.impl === 'ours' ? 'ours' : 'Go'} not runnable: ${s.reason}`);
  return out.join('\n');
}
