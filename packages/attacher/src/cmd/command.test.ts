import { describe, expect, it } from '@jest/globals';
import { parseFlags, runCommand, type CommandIO } from '@csi-sidecars-ts/shared';
import { attacherCommand } from './command.js';
import { attacherFlags, validateAttacherFlags } from './flags.js';

function fakeIO() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: {} };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

function parse(argv: string[]) {
  const r = parseFlags(attacherFlags(), argv, { dialect: 'goflag' });
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
  return r;
}

// Every flag the Go csi-attacher v4.12.0 registers (its own, csi-lib-utils', component-base logging).
const GO_FLAG_NAMES = [
  'automaxprocs', 'csi-address', 'default-fstype', 'feature-gates', 'http-endpoint', 'kube-api-burst', 'kube-api-qps',
  'kubeconfig', 'leader-election', 'leader-election-labels', 'leader-election-lease-duration',
  'leader-election-namespace', 'leader-election-renew-deadline', 'leader-election-retry-period', 'log-flush-frequency',
  'log-json-info-buffer-size', 'log-json-split-stream', 'log-text-info-buffer-size', 'log-text-split-stream',
  'logging-format', 'max-entries', 'max-grpc-log-length', 'metrics-address', 'metrics-path', 'reconcile-sync',
  'resync', 'retry-interval-max', 'retry-interval-start', 'timeout', 'v', 'version', 'vmodule', 'worker-threads',
];

describe('csi-attacher flags', () => {
  it('defines every Go flag and nothing the Go attacher lacks (no --master)', () => {
    const names = Object.values(attacherFlags()).map((d) => d.name);
    for (const name of GO_FLAG_NAMES) expect(names).toContain(name);
    expect(names).not.toContain('master');
  });

  it('has the Go defaults (timeout 15s, unlike the other sidecars)', () => {
    const { values } = parse([]);
    expect(values).toMatchObject({
      resyncMs: 600_000,
      timeoutMs: 15_000,
      retryIntervalStartMs: 1_000,
      retryIntervalMaxMs: 300_000,
      workerThreads: 10,
      maxEntries: 0,
      defaultFstype: '',
      reconcileSyncMs: 60_000,
      maxGrpcLogLength: -1,
      csiAddress: '/run/csi/socket',
      leaderElectionLeaseDurationMs: 15_000,
    });
    expect(values.featureGates.enabled('MutableCSINodeAllocatableCount')).toBe(true);
    expect(values.featureGates.enabled('ReleaseLeaderElectionOnExit')).toBe(false);
  });

  it('parses the upstream deployment command line', () => {
    const r = parse(['--v=5', '--csi-address=/var/lib/csi/sockets/pluginproxy/mock.socket', '--leader-election', '--http-endpoint=:8080']);
    expect(r.values).toMatchObject({ v: 5, leaderElection: true, httpEndpoint: ':8080' });
    expect(validateAttacherFlags(r.values)).toEqual([]);
  });

  it('parses a production-style command line with Go single-dash flags', () => {
    const r = parse([
      '-csi-address=/csi/csi.sock',
      '-v', '2',
      '-timeout=6m',
      '-leader-election=true',
      '-leader-election-namespace', 'kube-system',
      '--kube-api-qps=20',
      '--kube-api-burst=100',
      '--worker-threads=100',
      '--retry-interval-max=5m',
      '--feature-gates=ReleaseLeaderElectionOnExit=true',
      '--max-grpc-log-length=0x400',
    ]);
    expect(r.values).toMatchObject({
      csiAddress: '/csi/csi.sock',
      v: 2,
      timeoutMs: 360_000,
      leaderElection: true,
      leaderElectionNamespace: 'kube-system',
      kubeApiQps: 20,
      kubeApiBurst: 100,
      workerThreads: 100,
      maxGrpcLogLength: 1024,
    });
    expect(r.values.featureGates.enabled('ReleaseLeaderElectionOnExit')).toBe(true);
  });
});

describe('csi-attacher command', () => {
  it('prints the version', async () => {
    const f = fakeIO();
    expect(await runCommand(attacherCommand, ['-version'], f.io)).toBe(0);
    expect(f.stdout()).toBe('csi-attacher v0.1.0 (drop-in for kubernetes-csi external-attacher v4.12.0)\n');
  });

  it('prints Go-flag-style help to stderr', async () => {
    const f = fakeIO();
    expect(await runCommand(attacherCommand, ['-h'], f.io)).toBe(0);
    const help = f.stderr();
    expect(help.startsWith('Usage of csi-attacher:\n')).toBe(true);
    for (const name of GO_FLAG_NAMES) expect(help).toContain(`  -${name}`);
    expect(help).toContain('  -timeout duration\n    \t');
    expect(help).toContain('(default 15s)');
    expect(help).toContain('  -worker-threads uint\n');
  });

  it('starts the sidecar with valid options and exits 1 with the reason when start-up fails', async () => {
    const f = fakeIO();
    expect(await runCommand(attacherCommand, ['--kubeconfig=/nonexistent/kubeconfig', '--csi-address=/tmp/none.sock'], f.io)).toBe(1);
    expect(f.stderr()).toMatch(/Start-up failed.*nonexistent\/kubeconfig/);
  });

  it.each([
    [['--worker-threads=0'], 'invalid value "0" for flag -worker-threads: must be at least 1'],
    [['--max-entries=-1'], 'invalid value "-1" for flag -max-entries: must be at least 0'],
    [['--reconcile-sync=0s'], 'invalid value "0s" for flag -reconcile-sync: must be greater than 0s'],
    [['--resync=-1m'], 'invalid value "-1m" for flag -resync: must be at least 0s'],
    [['--master=https://x'], 'flag provided but not defined: -master'],
    [['--feature-gates=Topology=true'], 'unrecognized feature gate: Topology'],
  ])('exits 2 on %j', async (argv, message) => {
    const f = fakeIO();
    expect(await runCommand(attacherCommand, argv, f.io)).toBe(2);
    expect(f.stderr()).toContain(message);
  });

  it('exits 2 when --http-endpoint and --metrics-address are both set', async () => {
    const f = fakeIO();
    expect(await runCommand(attacherCommand, ['--http-endpoint=:8080', '--metrics-address=:8081'], f.io)).toBe(2);
    expect(f.stderr()).toContain('only one of --metrics-address and --http-endpoint can be set');
  });
});
