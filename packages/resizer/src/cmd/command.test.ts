import { describe, expect, it } from '@jest/globals';
import { parseFlags, runCommand, type CommandIO } from '@csi-sidecars-ts/shared';
import { resizerCommand } from './command.js';
import { resizerFlags, validateResizerFlags } from './flags.js';

function fakeIO() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: {} };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

function parse(argv: string[]) {
  const r = parseFlags(resizerFlags(), argv, { dialect: 'goflag' });
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
  return r;
}

// Every flag the Go csi-resizer v2.2 registers (its own, csi-lib-utils', component-base logging).
const GO_FLAG_NAMES = [
  'automaxprocs', 'csi-address', 'extra-modify-metadata', 'feature-gates', 'handle-volume-inuse-error',
  'http-endpoint', 'kube-api-burst', 'kube-api-qps', 'kubeconfig', 'leader-election', 'leader-election-labels',
  'leader-election-lease-duration', 'leader-election-namespace', 'leader-election-renew-deadline',
  'leader-election-retry-period', 'log-flush-frequency', 'log-json-info-buffer-size', 'log-json-split-stream',
  'log-text-info-buffer-size', 'log-text-split-stream', 'logging-format', 'master', 'metrics-address', 'metrics-path',
  'resync-period', 'retry-interval-max', 'retry-interval-start', 'timeout', 'v', 'version', 'vmodule', 'workers',
];

describe('csi-resizer flags', () => {
  it('defines every Go flag, with the resizer\'s own names', () => {
    const names = Object.values(resizerFlags()).map((d) => d.name);
    for (const name of GO_FLAG_NAMES) expect(names).toContain(name);
    for (const absent of ['worker-threads', 'resync', 'reconcile-sync', 'max-entries', 'default-fstype', 'max-grpc-log-length']) {
      expect(names).not.toContain(absent);
    }
  });

  it('has the Go defaults', () => {
    const { values } = parse([]);
    expect(values).toMatchObject({
      master: '',
      resyncPeriodMs: 600_000,
      workers: 10,
      extraModifyMetadata: false,
      timeoutMs: 10_000,
      retryIntervalStartMs: 1_000,
      retryIntervalMaxMs: 300_000,
      handleVolumeInuseError: true,
    });
    const gates = values.featureGates;
    expect(gates.enabled('AnnotateFsResize')).toBe(false);
    expect(gates.enabled('RecoverVolumeExpansionFailure')).toBe(true);
    expect(gates.enabled('VolumeAttributesClass')).toBe(true);
    expect(gates.enabled('ReleaseLeaderElectionOnExit')).toBe(false);
    expect(gates.isExplicitlySet('VolumeAttributesClass')).toBe(false);
  });

  it('parses the upstream deployment command line', () => {
    const r = parse(['--v=5', '--csi-address=/var/lib/csi/sockets/pluginproxy/mock.socket', '--leader-election', '--http-endpoint=:8080']);
    expect(r.values).toMatchObject({ v: 5, leaderElection: true, httpEndpoint: ':8080' });
    expect(validateResizerFlags(r.values)).toEqual([]);
  });

  it('parses a production-style command line', () => {
    const r = parse([
      '--csi-address=/csi/csi.sock',
      '--v=2',
      '--timeout=60s',
      '--handle-volume-inuse-error=false',
      '--leader-election=true',
      '--leader-election-lease-duration=137s',
      '--leader-election-renew-deadline=107s',
      '--leader-election-retry-period=26s',
      '--leader-election-labels=team:storage',
      '--workers=20',
      '--resync-period=0',
      '--feature-gates=VolumeAttributesClass=false,AnnotateFsResize=true',
    ]);
    expect(r.values).toMatchObject({
      timeoutMs: 60_000,
      handleVolumeInuseError: false,
      leaderElectionLeaseDurationMs: 137_000,
      leaderElectionRenewDeadlineMs: 107_000,
      leaderElectionRetryPeriodMs: 26_000,
      leaderElectionLabels: { team: 'storage' },
      workers: 20,
      resyncPeriodMs: 0,
    });
    expect(r.values.featureGates.enabled('VolumeAttributesClass')).toBe(false);
    expect(r.values.featureGates.isExplicitlySet('VolumeAttributesClass')).toBe(true);
    expect(r.values.featureGates.enabled('AnnotateFsResize')).toBe(true);
    expect(validateResizerFlags(r.values)).toEqual([]);
  });
});

describe('csi-resizer command', () => {
  it('prints the version', async () => {
    const f = fakeIO();
    expect(await runCommand(resizerCommand, ['--version'], f.io)).toBe(0);
    expect(f.stdout()).toBe('csi-resizer v0.1.0 (drop-in for kubernetes-csi external-resizer v2.2.0)\n');
  });

  it('prints help to stderr with the resizer flags', async () => {
    const f = fakeIO();
    expect(await runCommand(resizerCommand, ['--help'], f.io)).toBe(0);
    expect(f.stderr()).toContain('  -workers int\n');
    expect(f.stderr()).toContain('  -resync-period duration\n');
    expect(f.stderr()).toContain('AnnotateFsResize=true|false (ALPHA - default=false)');
  });

  it('starts the sidecar with valid options and exits 1 with the reason when start-up fails', async () => {
    const f = fakeIO();
    expect(await runCommand(resizerCommand, ['--kubeconfig=/nonexistent/kubeconfig', '--csi-address=/tmp/none.sock'], f.io)).toBe(1);
    expect(f.stderr()).toMatch(/Start-up failed.*nonexistent\/kubeconfig/);
  });

  it.each([
    [['--workers=0'], 'invalid value "0" for flag -workers: must be at least 1'],
    [['--worker-threads=5'], 'flag provided but not defined: -worker-threads'],
    [['--handle-volume-inuse-error=maybe'], 'invalid boolean value "maybe" for -handle-volume-inuse-error'],
  ])('exits 2 on %j', async (argv, message) => {
    const f = fakeIO();
    expect(await runCommand(resizerCommand, argv, f.io)).toBe(2);
    expect(f.stderr()).toContain(message);
  });

  it('exits 2 on inconsistent leader-election timings', async () => {
    const f = fakeIO();
    expect(await runCommand(resizerCommand, ['--leader-election', '--leader-election-renew-deadline=20s'], f.io)).toBe(2);
    expect(f.stderr()).toContain('--leader-election-lease-duration (15s) must be greater than --leader-election-renew-deadline (20s)');
  });
});
