// Chaos results: one line per scenario and implementation, appended to a JSON-lines file (so the
// spec files of one run add up) and printed as a Markdown table at the end of each spec file.
// Ours is asserted by the specs; the Go sidecars' results are only reported.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Impl } from './implementations.js';

export interface ScenarioResult {
  /** Row number in beyond.md §5.2 (or a short label). */
  row: string;
  scenario: string;
  impl: Impl;
  /** 'clean' or what was left behind; 'not run: …' when the implementation was unavailable. */
  outcome: string;
  clean: boolean;
  /** Time from the fault's end (restart, recovery) to a clean state; undefined if it never got there. */
  convergedMs?: number;
  notes?: string;
  /** Backend volumes no PV describes, after the scenario. */
  leaked?: number;
  /** Objects left with a finalizer, PVs without a volume, volumes still published, journal entries. */
  stuck?: number;
}

/** Where results go: $CSI_CHAOS_RESULTS, else a file in the temp folder. */
export const RESULTS_FILE = process.env.CSI_CHAOS_RESULTS || join(tmpdir(), 'csi-sidecars-chaos-results.jsonl');

export function recordResult(r: ScenarioResult): void {
  appendFileSync(RESULTS_FILE, `${JSON.stringify({ ...r, at: new Date().toISOString() })}\n`);
}

export function readResults(): ScenarioResult[] {
  if (!existsSync(RESULTS_FILE)) return [];
  return readFileSync(RESULTS_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ScenarioResult);
}

export function resultsTable(results: readonly ScenarioResult[]): string {
  const rows = ['| # | scenario | impl | outcome | converged |', '|---|---|---|---|---|'];
  for (const r of results) {
    const converged = r.convergedMs === undefined ? '—' : `${(r.convergedMs / 1000).toFixed(1)} s`;
    rows.push(`| ${r.row} | ${r.scenario} | ${r.impl} | ${r.outcome}${r.notes ? ` (${r.notes})` : ''} | ${converged} |`);
  }
  return rows.join('\n');
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

function cell(r: ScenarioResult | undefined): string {
  if (!r) return '—';
  if (r.outcome.startsWith('not run')) return r.outcome;
  const counts = r.leaked !== undefined ? `leaked ${r.leaked}, stuck ${r.stuck ?? 0}, ` : '';
  const verdict = r.clean ? '**clean**' : r.outcome;
  return `${verdict} (${counts}converged ${seconds(r.convergedMs)})${r.notes ? `; ${r.notes}` : ''}`;
}

const rowOrder = (row: string) => {
  const n = Number.parseInt(row, 10);
  return Number.isNaN(n) ? 100 : n;
};

/**
 * Go next to ours, one line per scenario (the last result of each implementation wins when a
 * scenario ran more than once).
 */
export function comparisonTable(results: readonly ScenarioResult[]): string {
  const byScenario = new Map<string, { row: string; scenario: string; go?: ScenarioResult; ours?: ScenarioResult }>();
  for (const r of results) {
    const key = `${r.row}\u0000${r.scenario}`;
    const entry = byScenario.get(key) ?? { row: r.row, scenario: r.scenario };
    entry[r.impl] = r;
    byScenario.set(key, entry);
  }
  const lines = ['| § 5.2 row | scenario | Go outcome | our outcome |', '|---|---|---|---|'];
  const sorted = [...byScenario.values()].sort((a, b) => rowOrder(a.row) - rowOrder(b.row) || a.row.localeCompare(b.row));
  for (const e of sorted) lines.push(`| ${e.row} | ${e.scenario} | ${cell(e.go)} | ${cell(e.ours)} |`);
  return lines.join('\n');
}
