import { describe, expect, it } from '@jest/globals';
import { TARGETS } from '../catalogue.js';
import { figure } from '../figures.js';
import type { ReportMeta } from './markdown.js';
import { aggregate, type RunRecord } from './model.js';
import { SECTION_END, SECTION_HEADING, SECTION_START, readmeRows, renderReadmeSection, spliceSection } from './readmes.js';

const meta: ReportMeta = {
  startedAt: '2026-11-21T22:34:47.000Z',
  durationSeconds: 2640,
  scale: 1,
  pairs: 3,
  machine: '2 CPU(s) test CPU, 24 GiB RAM',
  versions: 'v',
  sizes: {},
  notes: [],
};

function run(scenario: RunRecord['scenario'], sidecar: RunRecord['sidecar'], impl: 'ours' | 'go', figures: RunRecord['figures'], profile: RunRecord['profile'] = 'lifted', objects = 10): RunRecord {
  return { scenario, sidecar, profile, impl, pair: 1, objects, figures, notes: [] };
}

const rss = (mib: number) => [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', mib)];

const runs = [
  run('provision', 'provisioner', 'ours', [figure('throughput', 'throughput', 'objects/s', 'higher', 100), figure('cpu_s', 'CPU', 's', 'lower', 2), figure('converge_s', 'time to last converged', 's', 'lower', 5)]),
  run('provision', 'provisioner', 'go', [figure('throughput', 'throughput', 'objects/s', 'higher', 50), figure('cpu_s', 'CPU', 's', 'lower', 1), figure('converge_s', 'time to last converged', 's', 'lower', 10)]),
  run('idle-provisioner', 'provisioner', 'ours', [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', 100)]),
  run('idle-provisioner', 'provisioner', 'go', [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', 100)]),
  run('expand', 'resizer', 'ours', [figure('throughput', 'throughput', 'objects/s', 'higher', 1)]),
  // At QPS 5, burst 10: 40 PVs cannot be created in less than 6 s, and 0.8 × Go's 6.5 s is 5.2 s.
  run('provision', 'provisioner', 'ours', [figure('converge_s', 'time to last converged', 's', 'lower', 8), figure('throughput', 'throughput', 'objects/s', 'higher', 5)], 'go-defaults', 40),
  run('provision', 'provisioner', 'go', [figure('converge_s', 'time to last converged', 's', 'lower', 6.5), figure('throughput', 'throughput', 'objects/s', 'higher', 40 / 6.5)], 'go-defaults', 40),
  run('idle-provisioner', 'provisioner', 'ours', rss(120), 'go-defaults', 10_000),
  run('idle-provisioner', 'provisioner', 'go', rss(120), 'go-defaults', 10_000),
  run('idle-provisioner-10k-volumes', 'provisioner', 'ours', rss(150), 'go-defaults', 20_000),
  run('idle-provisioner-10k-volumes', 'provisioner', 'go', rss(170), 'go-defaults', 20_000),
];

describe('README performance section', () => {
  it('quotes the headline figures of the sidecar\'s scenarios only', () => {
    const rows = readmeRows({ meta, rows: aggregate(runs, TARGETS) }, 'provisioner');
    expect(rows.map((r) => `${r.scenario}·${r.profile}/${r.key}`)).toEqual([
      'provision·go-defaults/throughput',
      'provision·go-defaults/converge_s',
      'provision·lifted/throughput',
      'provision·lifted/converge_s',
      'idle-provisioner·go-defaults/rss_steady_mib',
      'idle-provisioner·lifted/rss_steady_mib',
      'idle-provisioner-10k-volumes·go-defaults/rss_steady_mib',
    ]);
  });

  it('says when, on what, and how the ratios compare with the targets', () => {
    const text = renderReadmeSection({ meta, runs }, 'provisioner', 'bench/results/x/results.json');
    expect(text.startsWith(`${SECTION_HEADING}\n\n${SECTION_START}`)).toBe(true);
    expect(text.endsWith(SECTION_END)).toBe(true);
    expect(text).toContain('Run of 2026-11-21');
    expect(text).toContain('full size, 3 pair(s)');
    expect(text).toContain('2 CPU(s) test CPU, 24 GiB RAM');
    expect(text).toContain('`bench/results/x/results.json`');
    expect(text).toContain('| provision · lifted | throughput (objects/s) | 100.0 | 50.0 | 2.00× | ours better |');
    expect(text).toMatch(/\| provision · lifted \| time to last converged \(s\) \| [^|]+ \| [^|]+ \| 0\.50× \| ours better; target ≤ 0\.80×: meets \|/);
    expect(text).toContain('| idle-provisioner · lifted | steady RSS after the load (MiB) | 100.0 | 100.0 | 1.00× | same |');
    expect(text).toContain('| idle-provisioner-10k-volumes · go-defaults | steady RSS after the load (MiB) | 150.0 | 170.0 | 0.88× | ours better; target ≤ 0.50×: misses |');
    expect(text).toMatch(/\| provision · go-defaults \| time to last converged \(s\) \| 8\.00 \| 6\.50 \| 1\.23× \| Go better; target ≤ 0\.80×: misses — unreachable at these limits \(floor 6\.00 s = 0\.92× Go's time\) \|/);
    expect(text).toContain('Unreachable at go-defaults: provision time to last converged cannot be ≤ 0.80× Go\'s: 40 objects × 1 required write(s) take ≥ 6.00 s at QPS 5, burst 10');
    // 10k → 20k objects: ours 120 → 150 MiB (3 MiB per 1000, baseline 90), Go 120 → 170 (5 per 1000, baseline 70).
    expect(text).toContain('ours 3.00 MiB / 1000 objects + 90.0 MiB, Go 5.00 MiB / 1000 objects + 70.0 MiB');
    expect(text).toContain('never by linear extrapolation (ours/Go tends to 0.60× as objects grow)');
    expect(renderReadmeSection({ meta: { ...meta, scale: 0.2 }, runs }, 'attacher', 'r.json')).toContain('No csi-attacher figures');
    const oneSize = renderReadmeSection({ meta, runs: runs.filter((r) => !r.scenario.endsWith('-10k-volumes')) }, 'provisioner', 'r.json');
    expect(oneSize).toContain('Idle memory at 10k volumes (where the memory target is set) was not measured in this run');
  });

  it('appends the section once, then replaces only its own text', () => {
    const readme = '# csi-x\n\nIntro.\n\n## Flags\n\nText.\n';
    const first = spliceSection(readme, `${SECTION_HEADING}\n\n${SECTION_START}\nA\n${SECTION_END}`);
    expect(first).toBe(`${readme}\n${SECTION_HEADING}\n\n${SECTION_START}\nA\n${SECTION_END}\n`);
    const edited = first.replace('Intro.', 'Intro, edited by someone else.') + '\n## Later section\n\nKept.\n';
    const second = spliceSection(edited, `${SECTION_HEADING}\n\n${SECTION_START}\nB\n${SECTION_END}`);
    expect(second).toContain('Intro, edited by someone else.');
    expect(second).toContain(`${SECTION_START}\nB\n${SECTION_END}`);
    expect(second).not.toContain('\nA\n');
    expect(second.endsWith('## Later section\n\nKept.\n')).toBe(true);
    expect(second.split(SECTION_HEADING)).toHaveLength(2);
    expect(() => spliceSection(`x\n${SECTION_START}\n`, 's')).toThrow(/only one of the bench section markers/);
  });
});
