import { describe, expect, it } from '@jest/globals';
import { commonSidecarFlags, validateStandardFlags, type StandardSidecarValues } from './common.js';
import type { FlagValues } from './definitions.js';
import { parseFlags } from './parser.js';

type CommonValues = FlagValues<ReturnType<typeof commonSidecarFlags>>;

function parse(...argv: string[]): { values: CommonValues; warnings: readonly string[] } {
  const r = parseFlags(commonSidecarFlags(), argv);
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
  return r;
}

function problems(...argv: string[]): string[] {
  return validateStandardFlags(parse(...argv).values as StandardSidecarValues);
}

describe('commonSidecarFlags', () => {
  it('has the Go names and defaults', () => {
    const { values } = parse();
    expect(values).toMatchObject({
      version: false,
      kubeconfig: '',
      csiAddress: '/run/csi/socket',
      leaderElection: false,
      leaderElectionNamespace: '',
      leaderElectionLeaseDurationMs: 15_000,
      leaderElectionRenewDeadlineMs: 10_000,
      leaderElectionRetryPeriodMs: 5_000,
      leaderElectionLabels: {},
      kubeApiQps: 5,
      kubeApiBurst: 10,
      httpEndpoint: '',
      metricsAddress: '',
      metricsPath: '/metrics',
      automaxprocs: false,
      v: 0,
      vmodule: [],
      loggingFormat: 'text',
      logFlushFrequencyMs: 5_000,
    });
  });

  it('reads logging flags', () => {
    const { values } = parse('-v=5', '--logging-format=json', '--vmodule=controller*=4,,csi=2', '--log-flush-frequency=1s');
    expect(values.v).toBe(5);
    expect(values.loggingFormat).toBe('json');
    expect(values.vmodule).toEqual([
      { pattern: 'controller*', level: 4 },
      { pattern: 'csi', level: 2 },
    ]);
    expect(values.logFlushFrequencyMs).toBe(1_000);
  });

  it.each([
    [['--logging-format=xml'], 'must be one of "text", "json"'],
    [['--vmodule=foo'], '"foo" does not have the pattern=N format'],
    [['-v=-1'], 'parse error'],
    [['-v=2147483648'], 'value out of range'],
    [['--log-flush-frequency=0'], 'must be greater than 0s'],
    [['--leader-election-labels=noColon'], 'malformed item "noColon": want key:value'],
  ])('refuses %j', (argv, message) => {
    const r = parseFlags(commonSidecarFlags(), argv);
    expect(r.kind === 'error' && r.error).toContain(message);
  });

  it('accepts klog flags of older releases with a no-effect warning', () => {
    const { warnings } = parse('--logtostderr=false', '--add_dir_header', '--log-dir=/tmp', '--stderrthreshold=INFO');
    expect(warnings).toHaveLength(4);
    expect(warnings[1]).toBe(
      'Flag --add-dir-header has been deprecated, it has no effect: klog output flags are not supported; logs always go to stderr',
    );
  });

  it('warns that --metrics-address is deprecated', () => {
    expect(parse('--metrics-address=:8080').warnings).toEqual([
      'Flag --metrics-address has been deprecated, use --http-endpoint instead',
    ]);
  });
});

describe('validateStandardFlags', () => {
  it('accepts the upstream deployment command line', () => {
    expect(problems('--v=5', '--csi-address=/var/lib/csi/sockets/pluginproxy/mock.socket', '--leader-election', '--http-endpoint=:8080')).toEqual([]);
  });

  it('refuses --http-endpoint together with --metrics-address', () => {
    expect(problems('--http-endpoint=:8080', '--metrics-address=:8081')).toEqual([
      'only one of --metrics-address and --http-endpoint can be set',
    ]);
  });

  it.each([
    ['--http-endpoint=8080', '--http-endpoint="8080": missing port'],
    ['--http-endpoint=:99999', '--http-endpoint=":99999": bad port "99999"'],
    ['--metrics-address=::1:8080', 'an IPv6 host must be in brackets'],
    ['--metrics-path=metrics', '--metrics-path="metrics": must start with "/"'],
    ['--csi-address=', '--csi-address must not be empty'],
    ['--csi-address=localhost:10000', 'want an absolute unix socket path or a unix:// URL'],
  ])('%s', (arg, message) => {
    expect(problems(arg).join('\n')).toContain(message);
  });

  it.each(['[::]:8080', '0.0.0.0:8080', 'localhost:0', ':8080'])('accepts endpoint %s', (endpoint) => {
    expect(problems(`--http-endpoint=${endpoint}`)).toEqual([]);
  });

  it('accepts unix:// addresses', () => {
    expect(problems('--csi-address=unix:///csi/csi.sock')).toEqual([]);
  });

  it('checks leader-election timings only when leader election is on', () => {
    expect(problems('--leader-election-lease-duration=5s')).toEqual([]);
    expect(problems('--leader-election', '--leader-election-lease-duration=10s')).toEqual([
      '--leader-election-lease-duration (10s) must be greater than --leader-election-renew-deadline (10s)',
    ]);
    expect(problems('--leader-election', '--leader-election-retry-period=9s')).toEqual([
      '--leader-election-renew-deadline (10s) must be greater than 1.2 × --leader-election-retry-period (9s)',
    ]);
    expect(problems('--leader-election', '--leader-election-retry-period=0s').join('\n')).toContain(
      '--leader-election-retry-period must be greater than 0s',
    );
  });

  it('checks lease label syntax', () => {
    expect(problems('--leader-election-labels=example.com/team:storage,tier:')).toEqual([]);
    const found = problems('--leader-election-labels=bad key:x,ok:bad value');
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('--leader-election-labels: label "bad key:x": the name must be');
    expect(found[1]).toContain('label "ok:bad value": a value must be');
  });
});
