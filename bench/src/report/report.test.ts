import { describe, expect, it } from '@jest/globals';
import { TARGETS } from '../catalogue.js';
import { figure } from '../figures.js';
import { formatRatio, renderMarkdown, type ReportMeta } from './markdown.js';
import { aggregate, type RunRecord } from './model.js';
import { advantage, escapeXml, renderRatioChart } from './svg.js';

function run(impl: 'ours' | 'go', pair: number, throughput: number, rss: number, error?: string): RunRecord {
  return {
    scenario: 'provision',
    sidecar: 'provisioner',
    profile: 'lifted',
    impl,
    pair,
    objects: 100,
    figures: [
      figure('throughput', 'throughput', 'objects/s', 'higher', throughput),
      figure('rss_steady_mib', 'steady RSS', 'MiB', 'lower', rss),
      figure('converge_s', 'time to last converged', 's', 'lower', 100 / throughput),
    ],
    notes: [],
    ...(error ? { error } : {}),
  };
}

const meta: ReportMeta = {
  startedAt: '2026-01-01T00:00:00Z',
  durationSeconds: 60,
  scale: 0.02,
  pairs: 3,
  machine: 'test machine',
  versions: 'test versions',
  sizes: { provision: { lifted: 100 } },
  notes: [],
};

describe('aggregate', () => {
  it('takes the median of each side over the pairs and the ratio ours/Go', () => {
    const runs = [run('ours', 1, 30, 50), run('go', 1, 10, 100), run('ours', 2, 10, 40), run('go', 2, 12, 90), run('ours', 3, 20, 60), run('go', 3, 8, 110)];
    const rows = aggregate(runs, TARGETS);
    const tp = rows.find((r) => r.key === 'throughput')!;
    expect(tp.ours).toBe(20);
    expect(tp.go).toBe(10);
    expect(tp.ratio).toBe(2);
    expect(tp.oursRuns).toBe(3);
    expect(tp.target).toBeUndefined();
    const time = rows.find((r) => r.key === 'converge_s')!;
    expect(time.ratio).toBeCloseTo(0.5);
    expect(time.target?.op).toBe('<=');
    expect(time.meetsTarget).toBe(true);
    const rss = rows.find((r) => r.key === 'rss_steady_mib')!;
    expect(rss.ratio).toBeCloseTo(50 / 100);
  });

  it('leaves failed runs out and has no ratio when one side has no value', () => {
    const rows = aggregate([run('ours', 1, 30, 50), run('go', 1, 10, 100, 'timed out')], TARGETS);
    const tp = rows.find((r) => r.key === 'throughput')!;
    expect(tp.go).toBeUndefined();
    expect(tp.ratio).toBeUndefined();
    expect(tp.meetsTarget).toBeUndefined();
  });

  it('says a target is missed when the ratio is on the wrong side', () => {
    // 0.8 is the bar: 10/12 of Go's rate is a time ratio of 1.2.
    const rows = aggregate([run('ours', 1, 10, 50), run('go', 1, 12, 100)], TARGETS);
    expect(rows.find((r) => r.key === 'converge_s')!.meetsTarget).toBe(false);
  });
});

describe('renderMarkdown', () => {
  it('writes one table row per figure with both medians, the ratio and the verdict', () => {
    const rows = aggregate([run('ours', 1, 30, 50), run('go', 1, 10, 100)], TARGETS);
    const md = renderMarkdown(meta, rows, [{ scenario: 'provision', impl: 'ours', reason: 'exited at start-up' }], { objects: 100, seconds: 0.5, objectsPerSecond: 200, concurrency: 64 });
    expect(md).toContain('| lifted | throughput (objects/s) | 30.0 | 10.0 | 3.00× | ours better |');
    expect(md).toMatch(/\| lifted \| time to last converged \(s\) \| [^|]+ \| [^|]+ \| 0\.33× \| ours better; target ≤ 0\.80×: meets \|/);
    expect(md).toContain('provisioning reached **15%** of that ceiling (Go 5%); target for ours ≥ 70%: misses.');
    expect(md).toContain('| lifted | steady RSS (MiB) | 50.0 | 100.0 | 0.50× | ours better |');
    expect(md).toContain('- ours: not runnable: exited at start-up');
    expect(md).toContain('scaled down');
    expect(md).toContain('**200 objects/s**');
  });

  it('formats ratios with two decimals, and whole numbers from 10×', () => {
    expect(formatRatio(0.456)).toBe('0.46×');
    expect(formatRatio(12.4)).toBe('12×');
    expect(formatRatio(undefined)).toBe('–');
  });
});

describe('renderRatioChart', () => {
  it('draws a bar per row, right of 1× when ours did better on the figure', () => {
    const rows = aggregate([run('ours', 1, 30, 200), run('go', 1, 10, 100)], TARGETS);
    const svg = renderRatioChart(rows, 'title <&>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('title &lt;&amp;&gt;');
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="(#[0-9a-f]+)"/g)].map((m) => m[1]);
    // throughput 3× higher (ours better: green), RSS 2× higher (ours worse: red)
    expect(bars).toEqual(['#2e7d32', '#c62828', '#2e7d32']);
    expect(svg).toContain('0.33× (meets target)');
  });

  it('turns a ratio into ours\u2019 advantage whatever the figure\u2019s direction', () => {
    expect(advantage({ ratio: 0.25, better: 'lower' })).toBe(4);
    expect(advantage({ ratio: 0.25, better: 'higher' })).toBe(0.25);
    expect(advantage({ ratio: undefined, better: 'lower' })).toBeUndefined();
    expect(escapeXml(`a"b'c`)).toBe('a&quot;b&apos;c');
  });
});
