import { describe, expect, it } from '@jest/globals';
import { TARGETS } from '../catalogue.js';
import { figure } from '../figures.js';
import { formatRatio, renderMarkdown, type ReportMeta } from './markdown.js';
import { floorSeconds } from '../catalogue.js';
import { floorLines, floorVerdict, renderFloorSection } from './floor.js';
import { aggregate, objectsOf, type RunRecord } from './model.js';
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

describe('rate-limit floor', () => {
  function timed(scenario: RunRecord['scenario'], impl: 'ours' | 'go', prefix: string, objects: number, seconds: number): RunRecord {
    return {
      scenario,
      sidecar: 'attacher',
      profile: 'go-defaults',
      impl,
      pair: 1,
      objects: 2 * objects,
      figures: [figure(`${prefix}converge_s`, `${prefix}time`, 's', 'lower', seconds), figure(`${prefix}throughput`, `${prefix}throughput`, 'objects/s', 'higher', objects / seconds)],
      notes: [],
    };
  }

  it('is what the token bucket needs beyond its burst, never below 0', () => {
    expect(floorSeconds(120, { qps: 5, burst: 10 })).toBe(22);
    expect(floorSeconds(8, { qps: 5, burst: 10 })).toBe(0);
    expect(floorSeconds(1000, { qps: Infinity, burst: 10 })).toBe(0);
  });

  it('counts the objects of a figure from its own throughput and time', () => {
    expect(objectsOf(timed('attach-detach', 'go', 'detach_', 40, 13), 'detach_converge_s')).toBe(40);
    expect(objectsOf(timed('attach-detach', 'go', 'detach_', 40, 13), 'rss_steady_mib')).toBeUndefined();
  });

  it('marks a target unreachable when the floor exceeds target × Go\'s time, per phase', () => {
    // attach: 40 × 3 writes → (120 − 10)/5 = 22 s > 0.8 × 22.1 s; detach: 40 × 1 → 6 s ≤ 0.8 × 15 s.
    const runs = [
      timed('attach-detach', 'ours', 'attach_', 40, 22.0),
      timed('attach-detach', 'go', 'attach_', 40, 22.1),
      timed('attach-detach', 'ours', 'detach_', 40, 14),
      timed('attach-detach', 'go', 'detach_', 40, 15),
    ];
    const rows = aggregate(runs, TARGETS);
    const attach = rows.find((r) => r.key === 'attach_converge_s')!;
    expect(attach.floor).toMatchObject({ objects: 40, minWrites: 3, qps: 5, burst: 10, seconds: 22, reachable: false });
    expect(floorVerdict(attach)).toBe("unreachable at these limits (floor 22.00 s = 1.00× Go's time)");
    const detach = rows.find((r) => r.key === 'detach_converge_s')!;
    expect(detach.floor).toMatchObject({ seconds: 6, reachable: true });
    expect(floorVerdict(detach)).toBe("reachable (floor 6.00 s = 0.40× Go's time)");
    expect(rows.find((r) => r.key === 'attach_throughput')!.floor).toBeUndefined();
    const flood = aggregate([timed('detach-under-attach-flood', 'ours', 'detach_', 8, 3), timed('detach-under-attach-flood', 'go', 'detach_', 8, 25)], TARGETS)[0]!;
    expect(floorVerdict(flood)).toBe('reachable (no floor: the burst of 10 covers 8 × 1 writes)');
    expect(floorLines([flood])).toEqual(['- Rate-limit floor, detach_time at go-defaults: none, the burst of 10 covers 8 objects × 1 write(s).', '']);
    const section = renderFloorSection(rows).join('\n');
    expect(section).toContain('| attach-detach · go-defaults (Q 5, B 10) | attach_time | 40 × 3 | 22.00 | 22.00 | 22.10 | 1.00× | 1.00× | 17.68 | ≤ 0.8×: **unreachable** |');
    expect(section).toContain('| attach-detach · go-defaults (Q 5, B 10) | detach_time | 40 × 1 | 6.00 | 14.00 | 15.00 | 2.33× | 2.50× | 12.00 | ≤ 0.8×: reachable, misses |');
    expect(section).toContain('attach-detach attach_time: **w = 3**');
    const md = renderMarkdown({ ...meta, sizes: {} }, rows, [], undefined, runs);
    expect(md).toContain("misses — unreachable at these limits (floor 22.00 s = 1.00× Go's time) |");
    expect(md).toContain('- Rate-limit floor, attach_time at go-defaults: 40 objects × 3 write(s) with Q 5, B 10 → **22.00 s**; ours 1.00× and Go 1.00× of it;');
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
