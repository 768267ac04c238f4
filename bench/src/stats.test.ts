import { describe, expect, it } from '@jest/globals';
import { median, percentile, summarize } from './stats.js';
import { convergenceFigures } from './figures.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the smallest sample covering p% of the samples', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });

  it('never interpolates: p99 of a small sample is its maximum', () => {
    expect(percentile([10, 20, 30], 99)).toBe(30);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
  });

  it('rejects an empty sample and a p outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/empty/);
    expect(() => percentile([1], 101)).toThrow(/within \[0, 100\]/);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize and median', () => {
  it('sorts a copy and reports order statistics and the mean', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ count: 5, min: 1, max: 5, mean: 3, p50: 3, p95: 5, p99: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('has no summary and no median for no values', () => {
    expect(summarize([])).toBeUndefined();
    expect(median([])).toBeUndefined();
  });

  it('takes the mean of the middle two for an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([9, 1, 5])).toBe(5);
  });
});

describe('convergenceFigures', () => {
  it('measures from the first send to the last convergence, with per-object latencies', () => {
    const sentAt = new Map([
      ['a', 1000],
      ['b', 1100],
      ['c', 1200],
      ['d', 1300],
    ]);
    const convergedAt = new Map([
      ['a', 1500],
      ['b', 1400],
      ['c', 2200],
      ['d', 3000],
    ]);
    const figures = convergenceFigures({ startedAt: 1000, sentAt, convergedAt }, 'attach_', 'attach: ');
    const byKey = Object.fromEntries(figures.map((f) => [f.key, f]));
    expect(byKey.attach_converge_s?.value).toBe(2);
    expect(byKey.attach_throughput?.value).toBe(2);
    expect(byKey.attach_throughput?.better).toBe('higher');
    // latencies: 500, 300, 1000, 1700
    expect(byKey.attach_p50_ms?.value).toBe(500);
    expect(byKey.attach_p95_ms?.value).toBe(1700);
    expect(byKey.attach_p95_ms?.label).toBe('attach: latency p95');
  });

  it('lets a later end (e.g. the backend emptied) stretch the convergence time', () => {
    const figures = convergenceFigures({ startedAt: 0, sentAt: new Map([['a', 0]]), convergedAt: new Map([['a', 500]]), endedAt: 2000 });
    expect(figures.find((f) => f.key === 'converge_s')?.value).toBe(2);
    expect(figures.find((f) => f.key === 'throughput')?.value).toBe(0.5);
  });

  it('reports no latency percentiles when no object has a send time', () => {
    const figures = convergenceFigures({ startedAt: 0, sentAt: new Map(), convergedAt: new Map([['a', 100]]) });
    expect(figures.map((f) => f.key)).toEqual(['converge_s', 'throughput']);
  });
});
