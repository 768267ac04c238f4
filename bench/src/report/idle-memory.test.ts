import { describe, expect, it } from '@jest/globals';
import { TARGETS } from '../catalogue.js';
import { figure } from '../figures.js';
import { crossingAt, crossingText, idleMemory, lineThrough, objectsFromRuns, renderIdleMemory } from './idle-memory.js';
import { aggregate, type RunRecord } from './model.js';

function idle(scenario: RunRecord['scenario'], impl: 'ours' | 'go', objects: number, mib: number): RunRecord {
  return { scenario, sidecar: 'attacher', profile: 'go-defaults', impl, pair: 1, objects, figures: [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', mib)], notes: [] };
}

describe('lineThrough', () => {
  it('gives MiB per 1000 objects and the baseline at 0 objects', () => {
    expect(lineThrough(10_000, 120, 20_000, 150)).toEqual({ slope: 3, intercept: 90 });
    expect(lineThrough(10_000, undefined, 20_000, 150)).toBeUndefined();
    expect(lineThrough(10_000, 1, 10_000, 2)).toBeUndefined();
  });
});

describe('crossingAt', () => {
  it('finds where ours/Go reaches the ratio beyond the larger size', () => {
    // ours 40 + 1/k, Go 20 + 4/k: ours = Go/2 at 40 + k = 10 + 2k, k = 30 → 30k objects.
    expect(crossingAt({ slope: 1, intercept: 40 }, { slope: 4, intercept: 20 }, 0.5, 20_000)).toBeCloseTo(30_000);
  });

  it('says never when the lines only meet the ratio behind us or not at all', () => {
    expect(crossingAt({ slope: 3, intercept: 90 }, { slope: 5, intercept: 70 }, 0.5, 20_000)).toBe('never');
    expect(crossingAt({ slope: 1, intercept: 40 }, { slope: 4, intercept: 20 }, 0.5, 40_000)).toBe('never');
    expect(crossingAt({ slope: 2, intercept: 40 }, { slope: 4, intercept: 20 }, 0.5, 0)).toBe('never');
  });
});

describe('idleMemory', () => {
  const runs = [
    idle('idle-attacher', 'ours', 10_000, 50),
    idle('idle-attacher', 'go', 10_000, 60),
    idle('idle-attacher-10k-volumes', 'ours', 20_000, 60),
    idle('idle-attacher-10k-volumes', 'go', 20_000, 100),
  ];

  it('pairs the larger size with its smaller twin, fits both sides and extrapolates the target', () => {
    const [m, ...rest] = idleMemory(aggregate(runs, TARGETS), objectsFromRuns(runs));
    expect(rest).toHaveLength(0);
    expect(m!.sidecar).toBe('attacher');
    expect(m!.small).toMatchObject({ scenario: 'idle-attacher', objects: 10_000, ours: 50, go: 60 });
    expect(m!.large).toMatchObject({ scenario: 'idle-attacher-10k-volumes', objects: 20_000, ours: 60, go: 100 });
    expect(m!.ours).toEqual({ slope: 1, intercept: 40 });
    expect(m!.go).toEqual({ slope: 4, intercept: 20 });
    expect(m!.targetRatio).toBe(0.5);
    expect(m!.reachesTargetAt).toBeCloseTo(30_000);
    expect(crossingText(m!)).toBe('≈ 30k objects (15k volumes), by linear extrapolation');
    const md = renderIdleMemory([m!]).join('\n');
    expect(md).toContain('## Idle memory at two sizes');
    expect(md).toContain('| csi-attacher · go-defaults, 20k objects | 60.0 | 100.0 | 0.60×; target 0.50×: misses |');
    expect(md).toContain('| 1.00 MiB / 1000 objects + 40.0 MiB | 4.00 MiB / 1000 objects + 20.0 MiB | ≈ 30k objects (15k volumes), by linear extrapolation |');
  });

  it('says so when the larger size already meets the target, and skips a size without its twin', () => {
    const met = [...runs.slice(0, 2), idle('idle-attacher-10k-volumes', 'ours', 20_000, 40), idle('idle-attacher-10k-volumes', 'go', 20_000, 100)];
    expect(crossingText(idleMemory(aggregate(met, TARGETS), objectsFromRuns(met))[0]!)).toBe('already ≤ 0.50× at 20k objects');
    expect(idleMemory(aggregate(runs.slice(2), TARGETS), objectsFromRuns(runs.slice(2)))).toEqual([]);
  });

  it('does not extrapolate through a side whose RSS did not grow between the sizes', () => {
    const flat = [...runs.slice(0, 2), idle('idle-attacher-10k-volumes', 'ours', 20_000, 48), idle('idle-attacher-10k-volumes', 'go', 20_000, 90)];
    const m = idleMemory(aggregate(flat, TARGETS), objectsFromRuns(flat))[0]!;
    expect(m.ours!.slope).toBeCloseTo(-0.2);
    expect(m.reachesTargetAt).toBe('unresolved');
    expect(crossingText(m)).toBe('not extrapolated: ours RSS did not grow from 10k to 20k objects (the difference is noise, not memory per object)');
  });

  it('falls back to the run sizes (pairs) when the runs are not there', () => {
    const objectsOf = objectsFromRuns([], { 'idle-attacher': { 'go-defaults': 5000 } });
    expect(objectsOf('idle-attacher', 'go-defaults')).toBe(10_000);
    expect(objectsOf('idle-attacher', 'lifted')).toBeUndefined();
  });
});
