import { describe, expect, it } from '@jest/globals';
import { parseFlags, releaseLeaseOnExit, runCommand, type CommandIO } from '@csi-sidecars-ts/shared';
import { provisionerCommand } from './command.js';
import { provisionerFlags, validateProvisionerFlags } from './flags.js';

function fakeIO(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

function parse(argv: string[]) {
  const r = parseFlags(provisionerFlags(), argv, { dialect: 'pflag' });
  if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
  return r;
}

// Every flag the Go csi-provisioner v6.3.0 registers (its own, csi-lib-utils', component-base logging).
const GO_FLAG_NAMES = [
  'automaxprocs', 'capacity-for-immediate-binding', 'capacity-ownerref-level', 'capacity-poll-interval',
  'capacity-threads', 'cloning-protection-threads', 'controller-publish-readonly', 'csi-address', 'default-fstype',
  'enable-capacity', 'enable-pprof', 'extra-create-metadata', 'feature-gates', 'http-endpoint', 'immediate-topology',
  'kube-api-burst', 'kube-api-capacity-burst', 'kube-api-capacity-qps', 'kube-api-qps', 'kubeconfig',
  'leader-election', 'leader-election-labels', 'leader-election-lease-duration', 'leader-election-namespace',
  'leader-election-renew-deadline', 'leader-election-retry-period', 'log-flush-frequency', 'log-json-info-buffer-size',
  'log-json-split-stream', 'log-text-info-buffer-size', 'log-text-split-stream', 'logging-format', 'master',
  'metrics-address', 'metrics-path', 'node-deployment', 'node-deployment-base-delay',
  'node-deployment-immediate-binding', 'node-deployment-max-delay', 'prevent-volume-mode-conversion',
  'retry-interval-max', 'retry-interval-start', 'snapshot-orphan-sweep-interval', 'strict-topology', 'timeout', 'v',
  'version', 'vmodule', 'volume-name-prefix', 'volume-name-uuid-length', 'worker-threads',
];

const NO_KUBECONFIG = '--kubeconfig=/nonexistent/kubeconfig';


describe('csi-provisioner flags', () => {
  it('defines every Go flag', () => {
    const names = Object.values(provisionerFlags()).map((d) => d.name);
    for (const name of GO_FLAG_NAMES) expect(names).toContain(name);
  });

  it('has the Go defaults', () => {
    const { values } = parse([]);
    expect(values).toMatchObject({
      master: '',
      volumeNamePrefix: 'pvc',
      volumeNameUuidLength: -1,
      retryIntervalStartMs: 1_000,
      retryIntervalMaxMs: 300_000,
      workerThreads: 100,
      cloningProtectionThreads: 1,
      snapshotOrphanSweepIntervalMs: 300_000,
      capacityThreads: 1,
      timeoutMs: 10_000,
      strictTopology: false,
      immediateTopology: true,
      extraCreateMetadata: false,
      enablePprof: false,
      defaultFstype: '',
      kubeApiCapacityQps: 1,
      kubeApiCapacityBurst: 5,
      enableCapacity: false,
      capacityForImmediateBinding: false,
      capacityPollIntervalMs: 60_000,
      capacityOwnerrefLevel: 1,
      nodeDeployment: false,
      nodeDeploymentImmediateBinding: true,
      nodeDeploymentBaseDelayMs: 20_000,
      nodeDeploymentMaxDelayMs: 60_000,
      controllerPublishReadonly: false,
      preventVolumeModeConversion: true,
      csiAddress: '/run/csi/socket',
      kubeApiQps: 5,
      kubeApiBurst: 10,
    });
    const gates = values.featureGates;
    expect(gates.enabled('Topology')).toBe(true);
    expect(gates.enabled('VolumeAttributesClass')).toBe(true);
    expect(gates.enabled('CrossNamespaceVolumeDataSource')).toBe(false);
    expect(gates.enabled('ReleaseLeaderElectionOnExit')).toBe(false);
  });

  it('parses a production-style command line (cloud driver chart)', () => {
    const r = parse([
      '--csi-address=/var/lib/csi/sockets/pluginproxy/csi.sock',
      '--v=2',
      '--feature-gates=Topology=true',
      '--extra-create-metadata',
      '--leader-election=true',
      '--default-fstype=ext4',
      '--kube-api-qps=20',
      '--kube-api-burst=100',
      '--worker-threads=100',
      '--retry-interval-max=30m',
      '--timeout=60s',
    ]);
    expect(r.values).toMatchObject({
      csiAddress: '/var/lib/csi/sockets/pluginproxy/csi.sock',
      v: 2,
      extraCreateMetadata: true,
      leaderElection: true,
      defaultFstype: 'ext4',
      kubeApiQps: 20,
      kubeApiBurst: 100,
      retryIntervalMaxMs: 1_800_000,
      timeoutMs: 60_000,
    });
    expect(r.values.featureGates.isExplicitlySet('Topology')).toBe(true);
    expect(r.warnings).toEqual(['Setting GA feature gate Topology=true. It will be removed in a future release.']);
    expect(validateProvisionerFlags(r.values)).toEqual([]);
  });

  it('parses a node-deployment command line (hostpath style, single-dash -v)', () => {
    const r = parse([
      '-v=5',
      '--csi-address=/csi/csi.sock',
      '--enable-capacity',
      '--capacity-ownerref-level=0',
      '--node-deployment=true',
      '--strict-topology=true',
      '--immediate-topology=false',
      '--worker-threads=5',
      '--volume-name-uuid-length=16',
    ]);
    expect(r.values).toMatchObject({
      v: 5,
      enableCapacity: true,
      capacityOwnerrefLevel: 0,
      nodeDeployment: true,
      strictTopology: true,
      immediateTopology: false,
      workerThreads: 5,
      volumeNameUuidLength: 16,
    });
  });
});

describe('csi-provisioner command', () => {
  it('prints the version', async () => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, ['--version'], f.io)).toBe(0);
    expect(f.stdout()).toBe('csi-provisioner v0.1.0 (drop-in for kubernetes-csi external-provisioner v6.3.0)\n');
  });

  it('prints pflag-style help with every flag, the gates and the compatibility note', async () => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, ['--help'], f.io)).toBe(0);
    const help = f.stderr();
    expect(help.startsWith('Usage of csi-provisioner:\n')).toBe(true);
    for (const name of GO_FLAG_NAMES) expect(help).toContain(`--${name}`);
    expect(help).toMatch(/\n {2}-v, --v Level {2,}Log verbosity/);
    expect(help).toMatch(/\n {6}--volume-name-prefix string {2,}.*\(default "pvc"\)/);
    expect(help).toMatch(/--timeout duration {2,}.*\(default 10s\)/);
    expect(help).toContain('CrossNamespaceVolumeDataSource=true|false (ALPHA - default=false)');
    expect(help).toContain('--add_dir_header');
    expect(help).not.toContain('--logtostderr ');
    expect(f.stdout()).toBe('');
  });

  it('runs the upstream deployment command line into start-up (which fails here on the missing kubeconfig)', async () => {
    const f = fakeIO();
    const code = await runCommand(
      provisionerCommand,
      [NO_KUBECONFIG, '--csi-address=/var/lib/csi/sockets/pluginproxy/mock.socket', '--leader-election', '--http-endpoint=127.0.0.1:0'],
      f.io,
    );
    expect(code).toBe(1);
    expect(f.stderr()).toMatch(/Start-up failed.*nonexistent\/kubeconfig/);
  });

  it('runs the upstream storage-capacity command line when NAMESPACE and POD_NAME are set', async () => {
    const argv = ['--csi-address=/var/lib/csi/sockets/pluginproxy/mock.socket', '--leader-election', '--enable-capacity', '--capacity-ownerref-level=2'];
    const withEnv = fakeIO({ NAMESPACE: 'default', POD_NAME: 'csi-provisioner-0' });
    expect(await runCommand(provisionerCommand, [NO_KUBECONFIG, ...argv], withEnv.io)).toBe(1);
    expect(withEnv.stderr()).toContain('Start-up failed');

    const withoutEnv = fakeIO();
    expect(await runCommand(provisionerCommand, argv, withoutEnv.io)).toBe(1);
    expect(withoutEnv.stderr()).toContain('--enable-capacity needs the NAMESPACE environment variable');
    expect(withoutEnv.stderr()).toContain('needs the POD_NAME environment variable');
    expect(withoutEnv.stderr()).not.toContain('Start-up failed');
  });

  it('requires NODE_NAME with --node-deployment', async () => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, ['--node-deployment'], f.io)).toBe(1);
    expect(f.stderr()).toContain('the NODE_NAME environment variable must be set when using --node-deployment');
  });

  it.each([
    [['--volume-name-uuid-length=33'], 'invalid argument "33" for "--volume-name-uuid-length" flag: must be between -1 and 32'],
    [['--volume-name-uuid-length=-2'], 'invalid argument "-2" for "--volume-name-uuid-length" flag: must be between -1 and 32'],
    [['--worker-threads=0'], 'invalid argument "0" for "--worker-threads" flag: must be at least 1'],
    [['--timeout=0'], 'invalid argument "0" for "--timeout" flag: must be greater than 0s'],
    [['--unknown-flag'], 'unknown flag: --unknown-flag'],
    [['--feature-gates=Nope=true'], 'unrecognized feature gate: Nope'],
  ])('exits 2 on %j', async (argv, message) => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, argv, f.io)).toBe(2);
    expect(f.stderr()).toContain(message);
    expect(f.stderr()).toContain('Usage of csi-provisioner:');
  });

  it('exits 2 when --http-endpoint and --metrics-address are both set', async () => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, ['--http-endpoint=:8080', '--metrics-address=:8081'], f.io)).toBe(2);
    expect(f.stderr()).toContain('csi-provisioner: only one of --metrics-address and --http-endpoint can be set\n');
  });

  it('accepts the extreme --volume-name-uuid-length values', () => {
    expect(parse(['--volume-name-uuid-length=0']).values.volumeNameUuidLength).toBe(0);
    expect(parse(['--volume-name-uuid-length=32']).values.volumeNameUuidLength).toBe(32);
  });

  it('warns about an empty --volume-name-prefix but starts (Go fails only provisioning)', async () => {
    const f = fakeIO();
    expect(await runCommand(provisionerCommand, [NO_KUBECONFIG, '--volume-name-prefix='], f.io)).toBe(1);
    expect(f.stderr()).toContain('warning: --volume-name-prefix is empty');
    expect(f.stderr()).toContain('Start-up failed');
  });

  it('has the crash-safe journal on and the protection finalizer off by default', () => {
    expect(parse([]).values).toMatchObject({ provisioningJournal: true, provisioningProtectionFinalizer: false });
    expect(parse(['--provisioning-journal=false', '--provisioning-protection-finalizer']).values).toMatchObject({ provisioningJournal: false, provisioningProtectionFinalizer: true });
    // Accepted together (the finalizer then does nothing, and start-up says so).
    expect(validateProvisionerFlags(parse(['--provisioning-protection-finalizer', '--provisioning-journal=false']).values)).toEqual([]);
  });

  it('releases the leader-election Lease on exit unless ReleaseLeaderElectionOnExit is explicitly false', () => {
    expect(releaseLeaseOnExit(parse([]).values)).toBe(true);
    expect(releaseLeaseOnExit(parse(['--feature-gates=ReleaseLeaderElectionOnExit=false']).values)).toBe(false);
    expect(releaseLeaseOnExit(parse(['--feature-gates=ReleaseLeaderElectionOnExit=true']).values)).toBe(true);
    // The gate itself keeps Go's default, so --help reads the same.
    expect(parse([]).values.featureGates.enabled('ReleaseLeaderElectionOnExit')).toBe(false);
  });
});
