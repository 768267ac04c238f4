// The figures a run reports, and helpers that turn send/converge timestamps into them.
import { summarize } from './stats.js';

export type Better = 'lower' | 'higher';

export interface Figure {
  /** Stable key, e.g. 'throughput' or 'detach_p95_ms'. */
  key: string;
  label: string;
  unit: string;
  better: Better;
  value: number;
}

export function figure(key: string, label: string, unit: string, better: Better, value: number): Figure {
  return { key, label, unit, better, value };
}

export interface ConvergenceInput {
  /** When the first request of the load was sent (ms, performance.now()). */
  startedAt: number;
  /** Per object: when its trigger was sent (ms). */
  sentAt: ReadonlyMap<string, number>;
  /** Per object: when it was seen converged (ms). */
  convergedAt: ReadonlyMap<string, number>;
  /** Overrides the end (e.g. "backend empty" after the last PV was gone). */
  endedAt?: number;
}

/**
 * Time to the last converged object, objects per second and per-object latency percentiles.
 * `prefix` namespaces the keys when one run measures several phases (e.g. 'attach_').
 */
export function convergenceFigures(input: ConvergenceInput, prefix = '', labelPrefix = ''): Figure[] {
  const latencies: number[] = [];
  let last = input.startedAt;
  for (const [name, done] of input.convergedAt) {
    const sent = input.sentAt.get(name);
    if (sent !== undefined) latencies.push(Math.max(0, done - sent));
    if (done > last) last = done;
  }
  const end = Math.max(last, input.endedAt ?? last);
  const seconds = (end - input.startedAt) / 1000;
  const out = [
    figure(`${prefix}converge_s`, `${labelPrefix}time to last converged`, 's', 'lower', seconds),
    figure(`${prefix}throughput`, `${labelPrefix}throughput`, 'objects/s', 'higher', seconds > 0 ? input.convergedAt.size / seconds : 0),
  ];
  const s = summarize(latencies);
  if (s) {
    out.push(
      figure(`${prefix}p50_ms`, `${labelPrefix}latency p50`, 'ms', 'lower', s.p50),
      figure(`${prefix}p95_ms`, `${labelPrefix}latency p95`, 'ms', 'lower', s.p95),
      figure(`${prefix}p99_ms`, `${labelPrefix}latency p99`, 'ms', 'lower', s.p99),
    );
  }
  return out;
}
