import { describe, expect, it } from '@jest/globals';
import { FeatureGates, featureGateHelpLines, featureGatesFlag, parseFeatureGatePairs, type FeatureGateSpec } from './feature-gates.js';
import { parseFlags } from './parser.js';

const SPECS: FeatureGateSpec[] = [
  { name: 'Topology', default: true, stage: 'GA' },
  { name: 'CrossNamespaceVolumeDataSource', default: false, stage: 'ALPHA' },
  { name: 'SomeBeta', default: false, stage: 'BETA' },
  { name: 'Locked', default: true, stage: 'GA', lockToDefault: true },
  { name: 'Old', default: false, stage: 'DEPRECATED' },
];

function parse(...argv: string[]) {
  return parseFlags({ featureGates: featureGatesFlag(SPECS) }, argv);
}

function gates(...argv: string[]) {
  const r = parse(...argv);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
  return { gates: r.values.featureGates, warnings: r.warnings };
}

describe('--feature-gates', () => {
  it('uses the defaults when not given', () => {
    const { gates: g } = gates();
    expect(g.enabled('Topology')).toBe(true);
    expect(g.enabled('CrossNamespaceVolumeDataSource')).toBe(false);
    expect(g.isExplicitlySet('Topology')).toBe(false);
  });

  it('sets gates from comma-separated pairs, trimming spaces, across repeated flags', () => {
    const { gates: g } = gates('--feature-gates=CrossNamespaceVolumeDataSource=true, SomeBeta = 1,', '--feature-gates', 'Topology=false');
    expect(g.enabled('CrossNamespaceVolumeDataSource')).toBe(true);
    expect(g.enabled('SomeBeta')).toBe(true);
    expect(g.enabled('Topology')).toBe(false);
    expect(g.isExplicitlySet('Topology')).toBe(true);
  });

  it('lets AllAlpha/AllBeta set their stage while per-gate values win', () => {
    const { gates: g } = gates('--feature-gates=AllAlpha=true,AllBeta=true,SomeBeta=false');
    expect(g.enabled('CrossNamespaceVolumeDataSource')).toBe(true);
    expect(g.enabled('SomeBeta')).toBe(false);
    expect(g.enabled('Topology')).toBe(true);
  });

  it('refuses an unknown gate, naming it', () => {
    const r = parse('--feature-gates=Topology=true,NoSuchGate=true');
    expect(r).toMatchObject({ kind: 'error', flag: 'feature-gates' });
    if (r.kind === 'error') expect(r.error).toContain('unrecognized feature gate: NoSuchGate');
  });

  it('refuses malformed pairs and non-boolean values', () => {
    const noEq = parse('--feature-gates=Topology');
    expect(noEq.kind === 'error' && noEq.error).toContain('malformed pair "Topology", expect string=bool');
    const notBool = parse('--feature-gates=Topology=yes');
    expect(notBool.kind === 'error' && notBool.error).toContain('invalid value of Topology: yes');
  });

  it('refuses changing a locked gate but accepts its default', () => {
    const r = parse('--feature-gates=Locked=false');
    expect(r.kind === 'error' && r.error).toContain('cannot set feature gate Locked to false, feature is locked to true');
    expect(gates('--feature-gates=Locked=true').gates.enabled('Locked')).toBe(true);
  });

  it('warns when GA or deprecated gates are set', () => {
    const { warnings } = gates('--feature-gates=Topology=true,Old=true');
    expect(warnings).toEqual([
      'Setting GA feature gate Topology=true. It will be removed in a future release.',
      'Setting deprecated feature gate Old=true. It will be removed in a future release.',
    ]);
  });

  it('accepts API-server library gates with a no-effect warning', () => {
    const { gates: g, warnings } = gates('--feature-gates=WatchList=true');
    expect(warnings[0]).toContain('WatchList=true belongs to the Kubernetes API server library and has no effect');
    expect(g.specs().map((s) => s.name)).not.toContain('WatchList');
  });

  it('lets start-up code change a default without overriding an explicit setting', () => {
    const { gates: g } = gates();
    expect(g.withDefault('Topology', false).enabled('Topology')).toBe(false);
    const { gates: explicit } = gates('--feature-gates=Topology=true');
    expect(explicit.withDefault('Topology', false).enabled('Topology')).toBe(true);
  });

  it('throws for a gate the sidecar does not define (programming error)', () => {
    expect(() => new FeatureGates(SPECS).enabled('Nope')).toThrow('unknown feature gate "Nope"');
  });

  it('lists non-GA gates in help, sorted, as component-base does', () => {
    expect(featureGateHelpLines(SPECS)).toEqual([
      'AllAlpha=true|false (ALPHA - default=false)',
      'AllBeta=true|false (BETA - default=false)',
      'CrossNamespaceVolumeDataSource=true|false (ALPHA - default=false)',
      'SomeBeta=true|false (BETA - default=false)',
    ]);
  });

  it('prints effective values for logs', () => {
    expect(new FeatureGates(SPECS.slice(0, 2)).toString()).toBe('CrossNamespaceVolumeDataSource=false,Topology=true');
  });

  it('splits pairs like component-base', () => {
    expect([...parseFeatureGatePairs('A=true,,B=0')]).toEqual([
      ['A', true],
      ['B', false],
    ]);
  });
});
