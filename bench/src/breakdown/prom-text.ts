// Just enough of the Prometheus text format to read the sidecars' /metrics before and after a
// load: the CSI call histogram (csi_sidecar_operations_seconds) and client-go's work-queue
// metrics, as count/sum deltas per label set.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(value)) continue;
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export interface CountSum {
  count: number;
  /** Seconds. */
  sum: number;
}

/** A histogram's (or summary's) count and sum per value of one label. */
export function histogramBy(samples: readonly Sample[], name: string, label: string): Map<string, CountSum> {
  const out = new Map<string, CountSum>();
  for (const s of samples) {
    const which = s.name === `${name}_count` ? 'count' : s.name === `${name}_sum` ? 'sum' : undefined;
    if (!which) continue;
    const key = s.labels[label] ?? '';
    const cs = out.get(key) ?? { count: 0, sum: 0 };
    cs[which] += s.value;
    out.set(key, cs);
  }
  return out;
}

/** A counter's value per value of one label. */
export function counterBy(samples: readonly Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** after − before, per key (keys only in `after` count from 0). */
export function deltaCountSum(before: ReadonlyMap<string, CountSum>, after: ReadonlyMap<string, CountSum>): Map<string, CountSum> {
  const out = new Map<string, CountSum>();
  for (const [k, a] of after) {
    const b = before.get(k) ?? { count: 0, sum: 0 };
    const d = { count: a.count - b.count, sum: a.sum - b.sum };
    if (d.count > 0) out.set(k, d);
  }
  return out;
}

export function deltaCounter(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, a] of after) {
    const d = a - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
