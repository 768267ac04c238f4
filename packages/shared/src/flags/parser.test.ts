import { describe, expect, it } from '@jest/globals';
import {
  boolFlag,
  customFlag,
  durationFlag,
  floatFlag,
  intFlag,
  quantityFlag,
  stringFlag,
  stringListFlag,
  stringMapFlag,
  uintFlag,
} from './definitions.js';
import { parseFlags, type ParseResult } from './parser.js';
import type { FlagDefs } from './definitions.js';

function defs() {
  return {
    address: stringFlag('csi-address', '/run/csi/socket', 'socket'),
    leaderElection: boolFlag('leader-election', false, 'elect'),
    immediate: boolFlag('immediate-topology', true, 'topology'),
    timeoutMs: durationFlag('timeout', 10_000, 'timeout', { positive: true }),
    workers: uintFlag('worker-threads', 100, 'workers', { min: 1 }),
    uuidLength: intFlag('volume-name-uuid-length', -1, 'uuid', { min: -1, max: 32 }),
    qps: floatFlag('kube-api-qps', 5, 'qps'),
    labels: stringMapFlag('leader-election-labels', 'labels', { separator: ':' }),
    tags: stringListFlag('tags', ['a'], 'tags'),
    size: quantityFlag('buffer-size', '0', 'size'),
    v: customFlag<number>({ name: 'v', usage: 'verbosity', typeName: 'Level', initial: () => 0, set: Number, opts: { shorthand: 'v' } }),
    old: stringFlag('metrics-address', '', 'old', { deprecated: 'use --http-endpoint instead' }),
    addDirHeader: boolFlag('add-dir-header', false, 'klog', { hidden: true }),
  };
}

function ok<D extends FlagDefs>(r: ParseResult<D>) {
  if (r.kind !== 'ok') throw new Error(`expected values, got ${JSON.stringify(r)}`);
  return r;
}

describe('parseFlags syntax', () => {
  it('gives defaults when nothing is set', () => {
    const r = ok(parseFlags(defs(), []));
    expect(r.values.address).toBe('/run/csi/socket');
    expect(r.values.leaderElection).toBe(false);
    expect(r.values.immediate).toBe(true);
    expect(r.values.timeoutMs).toBe(10_000);
    expect(r.values.tags).toEqual(['a']);
    expect(r.explicit.size).toBe(0);
  });

  it.each([
    [['--csi-address=/x.sock']],
    [['--csi-address', '/x.sock']],
    [['-csi-address=/x.sock']],
    [['-csi-address', '/x.sock']],
  ])('takes a string value written as %j', (argv) => {
    expect(ok(parseFlags(defs(), argv)).values.address).toBe('/x.sock');
  });

  it('takes a value that starts with a dash', () => {
    expect(ok(parseFlags(defs(), ['--volume-name-uuid-length', '-1'])).values.uuidLength).toBe(-1);
  });

  it('reads bare booleans as true without consuming the next argument', () => {
    const r = ok(parseFlags(defs(), ['--leader-election', '--timeout=5s']));
    expect(r.values.leaderElection).toBe(true);
    expect(r.values.timeoutMs).toBe(5_000);
    const stray = ok(parseFlags(defs(), ['--leader-election', 'false', '--timeout=5s']));
    expect(stray.values.leaderElection).toBe(true);
    expect(stray.args).toEqual(['false']);
    expect(stray.values.timeoutMs).toBe(5_000);
  });

  it('reads --bool=false and Go boolean spellings', () => {
    const r = ok(parseFlags(defs(), ['--immediate-topology=false', '-leader-election=T']));
    expect(r.values.immediate).toBe(false);
    expect(r.values.leaderElection).toBe(true);
  });

  it('stops at -- and keeps the rest as arguments', () => {
    const r = ok(parseFlags(defs(), ['--timeout=1s', '--', '--leader-election', 'x']));
    expect(r.values.leaderElection).toBe(false);
    expect(r.args).toEqual(['--leader-election', 'x']);
  });

  it('accepts -v=5, -v 5, --v=5 and -v5', () => {
    for (const argv of [['-v=5'], ['-v', '5'], ['--v=5'], ['-v5']]) {
      expect(ok(parseFlags(defs(), argv)).values.v).toBe(5);
    }
  });

  it('treats underscores in names as dashes', () => {
    const r = ok(parseFlags(defs(), ['--add_dir_header', '--leader_election']));
    expect(r.values.addDirHeader).toBe(true);
    expect(r.values.leaderElection).toBe(true);
  });

  it('records which flags were given', () => {
    const r = ok(parseFlags(defs(), ['--timeout=10s', '-v=2']));
    expect([...r.explicit].sort()).toEqual(['timeout', 'v']);
  });
});

describe('parseFlags values', () => {
  it('parses typed values', () => {
    const r = ok(
      parseFlags(defs(), [
        '--timeout=1m30s',
        '--worker-threads=0x10',
        '--kube-api-qps=20.5',
        '--buffer-size=2Ki',
        '--volume-name-uuid-length=32',
      ]),
    );
    expect(r.values.timeoutMs).toBe(90_000);
    expect(r.values.workers).toBe(16);
    expect(r.values.qps).toBe(20.5);
    expect(r.values.size.value()).toBe(2048n);
    expect(r.values.uuidLength).toBe(32);
  });

  it('merges repeated and comma-separated map items', () => {
    const r = ok(parseFlags(defs(), ['--leader-election-labels=a:1,b:2', '--leader-election-labels', 'c:3']));
    expect(r.values.labels).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('replaces a list default on first use, appends afterwards', () => {
    const r = ok(parseFlags(defs(), ['--tags=x,y', '--tags=z']));
    expect(r.values.tags).toEqual(['x', 'y', 'z']);
  });

  it('does not share mutable defaults between parses', () => {
    const d = defs();
    ok(parseFlags(d, ['--tags=x', '--leader-election-labels=a:1']));
    const again = ok(parseFlags(d, []));
    expect(again.values.tags).toEqual(['a']);
    expect(again.values.labels).toEqual({});
  });

  it('warns once about a deprecated flag', () => {
    const r = ok(parseFlags(defs(), ['--metrics-address=:8080', '--metrics-address=:9090']));
    expect(r.values.old).toBe(':9090');
    expect(r.warnings).toEqual(['Flag --metrics-address has been deprecated, use --http-endpoint instead']);
  });
});

describe('parseFlags errors (Go flag dialect)', () => {
  it.each([
    [['--foo'], 'flag provided but not defined: -foo'],
    [['-foo=1'], 'flag provided but not defined: -foo'],
    [['--timeout'], 'flag needs an argument: -timeout'],
    [['--timeout=abc'], 'invalid value "abc" for flag -timeout: time: invalid duration "abc"'],
    [['--timeout=0s'], 'invalid value "0s" for flag -timeout: must be greater than 0s'],
    [['--leader-election=yes'], 'invalid boolean value "yes" for -leader-election: parse error (want true or false)'],
    [['--worker-threads=0'], 'invalid value "0" for flag -worker-threads: must be at least 1'],
    [['--worker-threads=-1'], 'invalid value "-1" for flag -worker-threads: parse error (want an integer)'],
    [['--volume-name-uuid-length=33'], 'invalid value "33" for flag -volume-name-uuid-length: must be between -1 and 32'],
    [['--volume-name-uuid-length=-2'], 'invalid value "-2" for flag -volume-name-uuid-length: must be between -1 and 32'],
    [['--leader-election-labels=a:b:c'], 'invalid value "a:b:c" for flag -leader-election-labels: malformed item "a:b:c": want key:value'],
    [['--buffer-size=12 Gi'], 'invalid value "12 Gi" for flag -buffer-size: quantities must match'],
    [['---x'], 'bad flag syntax: ---x'],
    [['-=x'], 'bad flag syntax: -=x'],
  ])('%j → %s', (argv, message) => {
    const r = parseFlags(defs(), argv);
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.error).toContain(message);
  });

  it('names the flag in the result', () => {
    const r = parseFlags(defs(), ['--timeout=x']);
    expect(r).toMatchObject({ kind: 'error', flag: 'timeout' });
  });
});

describe('parseFlags errors (pflag dialect)', () => {
  it.each([
    [['--foo'], 'unknown flag: --foo'],
    [['-x'], "unknown shorthand flag: 'x' in -x"],
    [['--timeout'], 'flag needs an argument: --timeout'],
    [['--timeout=abc'], 'invalid argument "abc" for "--timeout" flag: time: invalid duration "abc"'],
    [['-v=x'], 'invalid argument "x" for "-v, --v" flag'],
  ])('%j → %s', (argv, message) => {
    const d = {
      ...defs(),
      v: customFlag<number>({
        name: 'v',
        usage: 'verbosity',
        typeName: 'Level',
        initial: () => 0,
        set: (raw) => {
          if (!/^\d+$/.test(raw)) throw new Error('bad level');
          return Number(raw);
        },
        opts: { shorthand: 'v' },
      }),
    };
    const r = parseFlags(d, argv, { dialect: 'pflag' });
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.error).toContain(message);
  });
});

describe('parseFlags help', () => {
  it.each([['-h'], ['--help'], ['-help'], ['--h']])('%s asks for help', (arg) => {
    expect(parseFlags(defs(), ['--timeout=1s', arg]).kind).toBe('help');
  });

  it('refuses a definition set with a name twice', () => {
    const d = { a: stringFlag('x', '', ''), b: boolFlag('x', false, '') };
    expect(() => parseFlags(d, [])).toThrow('flag --x is defined twice');
  });
});
