// Where a run's time went, per converged object, for both sides alike: API requests by verb and
// resource (audit log), the API server's time for the writes, CPU, the sidecar's own CSI-call and
// work-queue histograms (its /metrics before and after the load), and for ours the CPU profile.
import { mergeSummaries, type ProfileSummary } from './cpu-profile.js';
import { counterBy, deltaCountSum, deltaCounter, histogramBy, type CountSum, type Sample } from './prom-text.js';
import { median } from '../stats.js';

export interface MetricsDelta {
  /** CSI method (short name, e.g. CreateVolume) → calls and seconds during the load. */
  csi: Record<string, CountSum>;
  /** Work queue → time items waited in it before a worker took them. */
  queueWait: Record<string, CountSum>;
  /** Work queue → time workers spent on items. */
  work: Record<string, CountSum>;
  /** Work queue → items put back for a retry. */
  retries: Record<string, number>;
}

export interface RunBreakdown {
  objects: number;
  /** Requests the sidecar started between the load's start and its stop, by "verb resource". */
  calls: Record<string, number>;
  requests: number;
  writes: number;
  /** Mean time the API server took for those writes (audit: received → complete), ms. */
  writeServerMs?: number;
  /** CPU seconds during the load. */
  cpuSeconds: number;
  metrics?: MetricsDelta;
  /** Ours only: CPU profile of the load window. */
  profile?: ProfileSummary;
}

export const CSI_OPERATIONS = 'csi_sidecar_operations_seconds';
export const QUEUE_WAIT = 'workqueue_queue_duration_seconds';
export const QUEUE_WORK = 'workqueue_work_duration_seconds';
export const QUEUE_RETRIES = 'workqueue_retries_total';

function record<T>(m: ReadonlyMap<string, T>): Record<string, T> {
  return Object.fromEntries([...m.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** "/csi.v1.Controller/CreateVolume" → "CreateVolume". */
export function shortMethod(method: string): string {
  return method.slice(method.lastIndexOf('/') + 1) || method;
}

/** The load's share of the sidecar's histograms: the scrape after it minus the scrape before. */
export function metricsDelta(before: readonly Sample[], after: readonly Sample[]): MetricsDelta {
  const csiBefore = histogramBy(before, CSI_OPERATIONS, 'method_name');
  const csiAfter = histogramBy(after, CSI_OPERATIONS, 'method_name');
  const csi = new Map<string, CountSum>();
  for (const [method, cs] of deltaCountSum(csiBefore, csiAfter)) {
    const key = shortMethod(method);
    const prev = csi.get(key) ?? { count: 0, sum: 0 };
    csi.set(key, { count: prev.count + cs.count, sum: prev.sum + cs.sum });
  }
  return {
    csi: record(csi),
    queueWait: record(deltaCountSum(histogramBy(before, QUEUE_WAIT, 'name'), histogramBy(after, QUEUE_WAIT, 'name'))),
    work: record(deltaCountSum(histogramBy(before, QUEUE_WORK, 'name'), histogramBy(after, QUEUE_WORK, 'name'))),
    retries: record(deltaCounter(counterBy(before, QUEUE_RETRIES, 'name'), counterBy(after, QUEUE_RETRIES, 'name'))),
  };
}

export interface BreakdownRow {
  label: string;
  unit: string;
  ours: number | undefined;
  go: number | undefined;
}

/** Calls listed one by one; the rest are summed into one row. */
const MAX_CALL_ROWS = 10;

function medianOf(runs: readonly RunBreakdown[], value: (b: RunBreakdown) => number | undefined): number | undefined {
  return median(runs.map(value).filter((v): v is number => v !== undefined && Number.isFinite(v)));
}

const perObject = (b: RunBreakdown, n: number) => (b.objects > 0 ? n / b.objects : undefined);
const meanMs = (cs: CountSum | undefined) => (cs && cs.count > 0 ? (cs.sum / cs.count) * 1000 : undefined);

/** Rows comparing both sides for one scenario and profile (medians over each side's runs). */
export function breakdownRows(ours: readonly RunBreakdown[], go: readonly RunBreakdown[]): BreakdownRow[] {
  const rows: BreakdownRow[] = [];
  const both = [...ours, ...go];
  const add = (label: string, unit: string, value: (b: RunBreakdown) => number | undefined) => {
    const row = { label, unit, ours: medianOf(ours, value), go: medianOf(go, value) };
    if (row.ours !== undefined || row.go !== undefined) rows.push(row);
  };
  add('API requests per object', 'requests', (b) => perObject(b, b.requests));
  add('API writes per object', 'requests', (b) => perObject(b, b.writes));
  const callTotals = new Map<string, number>();
  for (const b of both) for (const [call, n] of Object.entries(b.calls)) callTotals.set(call, Math.max(callTotals.get(call) ?? 0, perObject(b, n) ?? 0));
  const calls = [...callTotals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
  const listed = calls.slice(0, MAX_CALL_ROWS);
  for (const call of listed) add(`· ${call}`, 'requests', (b) => perObject(b, b.calls[call] ?? 0));
  if (calls.length > listed.length) {
    add(`· other (${calls.length - listed.length} kinds)`, 'requests', (b) =>
      perObject(b, Object.entries(b.calls).reduce((s, [c, n]) => (listed.includes(c) ? s : s + n), 0)),
    );
  }
  add('API server time per write (mean)', 'ms', (b) => b.writeServerMs);
  add('CPU per object', 'ms', (b) => perObject(b, b.cpuSeconds * 1000));
  const keys = (pick: (m: MetricsDelta) => Record<string, unknown>) => [...new Set(both.flatMap((b) => (b.metrics ? Object.keys(pick(b.metrics)) : [])))].sort();
  const withMetrics = both.some((b) => b.metrics);
  if (withMetrics) {
    for (const m of keys((x) => x.csi)) {
      add(`CSI ${m}: calls per object`, 'calls', (b) => (b.metrics ? perObject(b, b.metrics.csi[m]?.count ?? 0) : undefined));
      add(`CSI ${m}: duration (mean)`, 'ms', (b) => meanMs(b.metrics?.csi[m]));
    }
    for (const q of keys((x) => x.queueWait)) add(`queue "${q}": wait before a worker (mean)`, 'ms', (b) => meanMs(b.metrics?.queueWait[q]));
    for (const q of keys((x) => x.work)) {
      add(`queue "${q}": work per item (mean)`, 'ms', (b) => meanMs(b.metrics?.work[q]));
      add(`queue "${q}": items per object`, 'items', (b) => (b.metrics ? perObject(b, b.metrics.work[q]?.count ?? 0) : undefined));
    }
    for (const q of keys((x) => x.retries)) add(`queue "${q}": retries per object`, 'items', (b) => (b.metrics ? perObject(b, b.metrics.retries[q] ?? 0) : undefined));
  }
  return rows;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}

function ratio(ours: number | undefined, go: number | undefined): string {
  if (ours === undefined || go === undefined || go === 0 || !Number.isFinite(ours / go)) return '–';
  const r = ours / go;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

export interface BreakdownGroup {
  profile: string;
  ours: RunBreakdown[];
  go: RunBreakdown[];
}

/** The "where the time goes" part of a scenario's section; empty when no run has a breakdown. */
export function renderBreakdown(groups: readonly BreakdownGroup[]): string[] {
  const out: string[] = [];
  const useful = groups.filter((g) => g.ours.length + g.go.length > 0);
  if (useful.length === 0) return out;
  out.push('### Where the time goes', '');
  out.push(
    'Per converged object, from the start of the load until the sidecar stopped (medians over the runs). API requests: kube-apiserver audit log by User-Agent; CSI and queue figures: each sidecar\'s own `/metrics` (`csi_sidecar_operations_seconds`, `workqueue_*`) after the load minus before it.',
    '',
  );
  out.push('| profile | per object | ours | Go | ours/Go |', '|---|---|--:|--:|--:|');
  for (const g of useful) {
    for (const r of breakdownRows(g.ours, g.go)) out.push(`| ${g.profile} | ${r.label.replaceAll('|', '\\|')} (${r.unit}) | ${fmt(r.ours)} | ${fmt(r.go)} | ${ratio(r.ours, r.go)} |`);
  }
  out.push('');
  for (const g of useful) {
    const merged = mergeSummaries(g.ours.flatMap((b) => (b.profile ? [b.profile] : [])));
    if (!merged || merged.busyMs <= 0) continue;
    const runs = g.ours.filter((b) => b.profile).length;
    out.push(
      `Ours' CPU profile during the load (${g.profile}, ${runs} run(s), ${(merged.busyMs / 1000).toFixed(2)} s on CPU of ${(merged.windowMs / 1000).toFixed(2)} s sampled), self time:`,
      '',
      '| function | self ms | share |',
      '|---|--:|--:|',
    );
    for (const f of merged.functions) out.push(`| \`${f.name.replaceAll('|', '\\|').replaceAll('`', "'")}\` | ${f.selfMs.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`);
    out.push('', `By module: ${merged.modules.map((m) => `${m.name} ${(m.share * 100).toFixed(0)}%`).join(', ')}.`, '');
  }
  return out;
}
