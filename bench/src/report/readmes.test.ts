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

function run(scenario: RunRecord['scenario'], sidecar: RunRecord['sidecar'], impl: 'ours' | 'go', figures: RunRecord['figures']): RunRecord {
  return { scenario, sidecar, profile: 'lifted', impl, pair: 1, objects: 10, figures, notes: [] };
}

const runs = [
  run('provision', 'provisioner', 'ours', [figure('throughput', 'throughput', 'objects/s', 'higher', 100), figure('cpu_s', 'CPU', 's', 'lower', 2), figure('converge_s', 'time to last converged', 's', 'lower', 5)]),
  run('provision', 'provisioner', 'go', [figure('throughput', 'throughput', 'objects/s', 'higher', 50), figure('cpu_s', 'CPU', 's', 'lower', 1), figure('converge_s', 'time to last converged', 's', 'lower', 10)]),
  run('idle-provisioner', 'provisioner', 'ours', [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', 100)]),
  run('idle-provisioner', 'provisioner', 'go', [figure('rss_steady_mib', 'steady RSS after the load', 'MiB', 'lower', 100)]),
  run('expand', 'resizer', 'ours', [figure('throughput', 'throughput', 'objects/s', 'higher', 1)]),
];

describe('README performance section', () => {
  it('quotes the headline figures of the sidecar\'s scenarios only', () => {
    const rows = readmeRows({ meta, rows: aggregate(runs, TARGETS) }, 'provisioner');
    expect(rows.map((r) => `${r.scenario}/${r.key}`)).toEqual(['provision/throughput', 'provision/converge_s', 'idle-provisioner/rss_steady_mib']);
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
    expect(text).toContain('| idle-provisioner · lifted | steady RSS after the load (MiB) | 100.0 | 100.0 | 1.00× | same; target ≤ 0.50×: misses |');
    expect(renderReadmeSection({ meta: { ...meta, scale: 0.2 }, runs }, 'attacher', 'r.json')).toContain('No csi-attacher figures');
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
