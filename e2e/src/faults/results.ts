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
