// The client rate limit's floor under the time figures (see TimeFloor in the catalogue): whether a
// time target is reachable at all at a profile's limits, and how close each side came to it.
import { formatRatio, formatValue } from './format.js';
import type { ReportRow } from './model.js';

function share(value: number | undefined, of: number | undefined): string {
  if (value === undefined || of === undefined || of <= 0) return '–';
  return formatRatio(value / of);
}

/** "unreachable at these limits (floor X s = Y× Go's time)", or the reachable counterpart. */
export function floorVerdict(row: ReportRow): string | undefined {
  const f = row.floor;
  if (!f || f.reachable === undefined) return undefined;
  if (f.seconds === 0) return `reachable (no floor: the burst of ${f.burst} covers ${f.objects} × ${f.minWrites} writes)`;
  const where = `floor ${formatValue(f.seconds, 's')} s = ${share(f.seconds, row.go)} Go's time`;
  return f.reachable ? `reachable (${where})` : `unreachable at these limits (${where})`;
}

/** Rows whose figure has a floor, in report order. */
export function floorRows(rows: readonly ReportRow[]): ReportRow[] {
  return rows.filter((r) => r.floor);
}

/** The summary table of every time target against its floor, and why each minimum is what it is. */
export function renderFloorSection(rows: readonly ReportRow[]): string[] {
  const mine = floorRows(rows);
  if (mine.length === 0) return [];
  const out = [
    '## Time targets against the rate-limit floor',
    '',
    "Both sides get the same --kube-api-qps Q and --kube-api-burst B, and client-go's token bucket (ours has the same) admits at most B + Q·t requests in a time t. " +
      'Converging N objects takes at least N × (writes per object no correct sidecar can skip), so no sidecar converges them in less than the **floor** (N·w − B)/Q. ' +
      "The target (ours ≤ 0.8 × Go's time) is **unreachable** wherever the floor exceeds 0.8 × Go's time: then only fewer writes than Kubernetes needs would meet it. " +
      "Larger N does not lower the floor's share: the burst's head start and the fixed costs (sync, CSI calls) weigh less, and floor/Go's time tends to w ÷ the writes per object Go spends inside the window; it falls below 0.8 only where Go spends more than w/0.8 there (e.g. events on the same limiter), and then only a sidecar that skips those writes could meet the target.",
    '',
    '| scenario · limits | figure | N × w | floor (s) | ours (s) | Go (s) | ours/floor | Go/floor | 0.8 × Go (s) | target |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of mine) {
    const f = r.floor!;
    const target = r.target ? `≤ ${r.target.ratio}×:` : '';
    const goal = r.go === undefined ? '–' : formatValue((r.target?.ratio ?? 1) * r.go, 's');
    const state = f.reachable === undefined ? 'n/a' : f.reachable ? (r.meetsTarget ? 'meets' : 'reachable, misses') : '**unreachable**';
    out.push(
      `| ${r.scenario} · ${r.profile} (Q ${f.qps}, B ${f.burst}) | ${r.label} | ${f.objects} × ${f.minWrites} | ${formatValue(f.seconds, 's')} | ${formatValue(r.ours, 's')} | ${formatValue(r.go, 's')} | ${share(r.ours, f.seconds)} | ${share(r.go, f.seconds)} | ${goal} | ${target} ${state} |`,
    );
  }
  out.push('', 'Minimum writes per object (w), and why:', '');
  const seen = new Map<string, string[]>();
  for (const r of mine) {
    const key = `${r.floor!.minWrites}\u0000${r.floor!.reason}`;
    const list = seen.get(key) ?? [];
    const name = `${r.scenario} ${r.label}`;
    if (!list.includes(name)) list.push(name);
    seen.set(key, list);
  }
  for (const [key, names] of seen) {
    const [w, reason] = key.split('\u0000');
    out.push(`- ${names.join(', ')}: **w = ${w}**: ${reason}.`);
  }
  out.push('');
  return out;
}

/** The line under a scenario's table: each floored figure, its floor, and both sides against it. */
export function floorLines(rows: readonly ReportRow[]): string[] {
  const out: string[] = [];
  for (const r of floorRows(rows)) {
    const f = r.floor!;
    const v = floorVerdict(r);
    if (f.seconds === 0) {
      out.push(`- Rate-limit floor, ${r.label} at ${r.profile}: none, the burst of ${f.burst} covers ${f.objects} objects × ${f.minWrites} write(s).`);
      continue;
    }
    out.push(
      `- Rate-limit floor, ${r.label} at ${r.profile}: ${f.objects} objects × ${f.minWrites} write(s) with Q ${f.qps}, B ${f.burst} → **${formatValue(f.seconds, 's')} s**; ours ${share(r.ours, f.seconds)} and Go ${share(r.go, f.seconds)} of it${v ? `; the target is ${v}` : ''}.`,
    );
  }
  if (out.length) out.push('');
  return out;
}
