// charts/csi-sidecars: helm lint is clean; the chart follows the sidecars' flag definitions (every
// flag reachable from values, with its Go default); what it renders for the default and for a
// maximal values file is accepted by the real kube-apiserver (server-side apply, dry run, strict
// field validation); the values schema refuses typos and wrong types; and every argument the
// chart can pass is accepted by the real sidecar binaries.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { statusCode } from '../../src/harness/kube.js';
import { repoRoot } from '../../src/harness/paths.js';
import { waitFor } from '../../src/harness/wait.js';
import {
  SIDECARS,
  chartDir,
  cleanupScratch,
  container,
  ensureNamespace,
  findObject,
  flagTables,
  helm,
  helmBinary,
  podSpec,
  renderChart,
  run,
  serverSideApply,
  statusMessage,
  valuesFile,
  type FlagRow,
  type KubeObject,
  type SidecarName,
} from './chart-tools.js';

const NS = 'e2e-chart';
const LEASE_NS = 'csi-leases';
const maximal = join(chartDir, 'tests', 'values-maximal.yaml');

/** The arguments the chart itself always passes (everything else comes from values). */
function isChartManaged(arg: string): boolean {
  return arg.startsWith('--csi-address=') || arg.startsWith('--http-endpoint=') || arg === '--leader-election';
}

/** A valid value different from the Go default, for every flag in the tables. */
function nonDefaultValue(sidecar: SidecarName, row: FlagRow): unknown {
  const special: Record<string, unknown> = {
    // Large numbers must reach the command line as integers, not 1e+06.
    workerThreads: 1_000_000,
    kubeApiQps: 1_000_000,
    v: 3,
    volumeNameUuidLength: 16,
    capacityOwnerrefLevel: 0,
    kubeconfig: '/etc/kube/config',
    master: 'https://127.0.0.1:6443',
    leaderElectionNamespace: LEASE_NS,
    metricsPath: '/custom-metrics',
    vmodule: 'controller=4',
    loggingFormat: 'json',
    logTextInfoBufferSize: '1Ki',
    logJsonInfoBufferSize: '2Mi',
    volumeNamePrefix: 'vol',
    defaultFstype: 'ext4',
    leaderElectionLabels: { team: 'storage', tier: 'csi' },
    // Every sidecar has this alpha gate; turning it on is always allowed.
    featureGates: { ReleaseLeaderElectionOnExit: true },
  };
  if (row.key in special) return special[row.key];
  switch (row.kind) {
    case 'bool':
      return row.default !== 'true';
    case 'int':
      return Number(row.default) + 1;
    case 'float':
      return Number(row.default) * 2 || 1;
    case 'string':
      if (/^[0-9][0-9a-z.]*$/.test(row.default) && /[smh]$/.test(row.default)) return '42s';
      break;
    default:
      break;
  }
  throw new Error(`no test value for ${sidecar}.flags.${row.key} (--${row.flag}, ${row.kind}): add one to nonDefaultValue()`);
}

/** How the chart must print a value on the command line. */
function expectedText(row: FlagRow, value: unknown): string {
  if (row.kind === 'map') {
    const m = value as Record<string, unknown>;
    return Object.keys(m)
      .sort()
      .map((k) => `${k}${row.sep}${String(m[k])}`)
      .join(',');
  }
  return String(value);
}

// A subset of prometheus-operator's ServiceMonitor CRD: the fields the chart sets, typed, so a
// misspelt or misplaced field fails strict validation.
const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { plural: 'servicemonitors', singular: 'servicemonitor', kind: 'ServiceMonitor', listKind: 'ServiceMonitorList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            required: ['spec'],
            properties: {
              spec: {
                type: 'object',
                required: ['selector'],
                properties: {
                  selector: {
                    type: 'object',
                    properties: {
                      matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
                      matchExpressions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
                    },
                  },
                  namespaceSelector: {
                    type: 'object',
                    properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
                  },
                  endpoints: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        port: { type: 'string' },
                        path: { type: 'string' },
                        interval: { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                        scrapeTimeout: { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

async function dryRunAll(objects: KubeObject[]): Promise<string[]> {
  const refused: string[] = [];
  for (const obj of objects) {
    const r = await serverSideApply(obj, { dryRun: true });
    if (r.status !== 200 && r.status !== 201) refused.push(`${obj.kind} ${obj.metadata.name}: ${r.status} ${statusMessage(r)}`);
  }
  return refused;
}

describe('charts/csi-sidecars', () => {
  beforeAll(async () => {
    await helmBinary();
    await ensureNamespace(NS);
    await ensureNamespace(LEASE_NS);
    const kube = clusterKube();
    try {
      await kube.apiext.createCustomResourceDefinition({ body: SERVICE_MONITOR_CRD as never });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    await waitFor('the ServiceMonitor CRD to be established', async () => {
      const crd = await kube.apiext.readCustomResourceDefinition({ name: SERVICE_MONITOR_CRD.metadata.name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }, 30 * 60_000);

  afterAll(async () => {
    cleanupScratch();
    try {
      await clusterKube().apiext.deleteCustomResourceDefinition({ name: SERVICE_MONITOR_CRD.metadata.name });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  });

  it('passes helm lint --strict with the default and the maximal values', async () => {
    for (const extra of [[], ['--values', maximal]]) {
      const r = await helm(['lint', '--strict', chartDir, ...extra]);
      expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.stringContaining('0 chart(s) failed') });
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('is in step with the sidecars\' flag definitions (hack/gen-values.mjs --check)', async () => {
    const r = await run(process.execPath, [join(chartDir, 'hack', 'gen-values.mjs'), '--check']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('up to date') });
  });

  it('renders the default values: plugin and three sidecars sharing /csi, leader election, probes, restricted security', async () => {
    const objects = await renderChart({ namespace: NS });
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole', 'ClusterRole', 'ClusterRole',
        'ClusterRoleBinding', 'ClusterRoleBinding', 'ClusterRoleBinding',
        'Deployment',
        'Role', 'Role', 'Role',
        'RoleBinding', 'RoleBinding', 'RoleBinding',
        'Service', 'ServiceAccount',
      ].sort(),
    );
    const deployment = findObject(objects, 'Deployment') as unknown as { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    const pod = podSpec(objects) as { containers: { name: string }[]; securityContext: Record<string, unknown>; volumes: unknown[] };
    expect(pod.containers.map((c) => c.name)).toEqual(['csi-plugin', 'csi-provisioner', 'csi-attacher', 'csi-resizer']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.volumes).toEqual([{ name: 'socket-dir', emptyDir: {} }]);
    const ports = new Set<number>();
    for (const name of SIDECARS) {
      const c = container(objects, `csi-${name}`) as unknown as {
        args: string[];
        env: { name: string }[];
        ports: { name: string; containerPort: number }[];
        livenessProbe: { httpGet: { path: string; port: string } };
        securityContext: Record<string, unknown>;
        volumeMounts: { name: string; mountPath: string }[];
      };
      // All flags at their Go defaults: the chart passes only what it manages itself.
      expect(c.args).toEqual(['--csi-address=/csi/csi.sock', `--http-endpoint=:${c.ports[0]!.containerPort}`, '--leader-election']);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz/leader-election', port: name });
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.volumeMounts).toContainEqual({ name: 'socket-dir', mountPath: '/csi' });
      expect(c.env.map((e) => e.name)).toContain('POD_NAMESPACE');
      ports.add(c.ports[0]!.containerPort);
    }
    expect(ports.size).toBe(3);
    expect(container(objects, 'csi-provisioner').env!.map((e) => e.name)).toEqual(['POD_NAMESPACE', 'NAMESPACE', 'POD_NAME', 'NODE_NAME']);
    const service = findObject(objects, 'Service') as unknown as { spec: { ports: { name: string }[] } };
    expect(service.spec.ports.map((p) => p.name)).toEqual(['provisioner', 'attacher', 'resizer']);
  });

  it('has every rendered object of the default values accepted by kube-apiserver (server-side apply, dry run, strict fields)', async () => {
    const objects = await renderChart({ namespace: NS });
    expect(await dryRunAll(objects)).toEqual([]);
  });

  it('would notice a misspelt field: the dry run refuses what strict validation does not know', async () => {
    const objects = await renderChart({ namespace: NS });
    const deployment = structuredClone(findObject(objects, 'Deployment')) as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    deployment.spec.template.spec.containers[1]!.imagePullPolice = 'Always';
    const refused = await dryRunAll([deployment as unknown as KubeObject]);
    expect(refused).toEqual([expect.stringMatching(/imagePullPolice.*(field not declared in schema|unknown field)/)]);
  });

  it('renders the maximal values, and kube-apiserver accepts every object', async () => {
    const objects = await renderChart({ namespace: NS, valuesFiles: [maximal] });
    expect(new Set(objects.map((o) => o.kind))).toEqual(
      new Set([
        'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service',
        'StatefulSet', 'PodDisruptionBudget', 'CSIDriver', 'ServiceMonitor',
      ]),
    );
    // The lease Roles follow --leader-election-namespace; the capacity Role stays in the release namespace.
    const roles = objects.filter((o) => o.kind === 'Role').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(roles.sort()).toEqual([
      `${LEASE_NS}/csi-provisioner-leases`,
      `${NS}/csi-attacher-leases`,
      `${NS}/csi-provisioner-capacity`,
      `${NS}/csi-resizer-leases`,
    ].sort());
    // The all-in-one image runs each sidecar's own entry point.
    expect(container(objects, 'csi-attacher')).toMatchObject({
      image: 'example.com/csi-sidecars:v0.1.0',
      command: ['/nodejs/bin/node', '/app/packages/attacher/dist/cmd/csi-attacher.js'],
    });
    const driver = findObject(objects, 'CSIDriver') as unknown as { spec: Record<string, unknown> };
    expect(driver.spec).toMatchObject({ attachRequired: true, storageCapacity: true, podInfoOnMount: true });
    expect(await dryRunAll(objects)).toEqual([]);
  });

  it('grants only what the enabled options need: pods for the resizer in-use check, referencegrants, secrets, capacity', async () => {
    const rulesOf = (objects: KubeObject[], name: string) =>
      (findObject(objects, 'ClusterRole', name) as unknown as { rules: { resources: string[] }[] }).rules.flatMap((r) => r.resources);
    const defaults = await renderChart({ namespace: NS });
    expect(rulesOf(defaults, 'csi-csi-sidecars-resizer')).toContain('pods');
    expect(rulesOf(defaults, 'csi-csi-sidecars-provisioner')).not.toContain('referencegrants');
    // AllAlpha turns CrossNamespaceVolumeDataSource on in the sidecar unless it is set to false.
    const allAlpha = await renderChart({ namespace: NS, set: ['provisioner.flags.featureGates.AllAlpha=true'] });
    expect(rulesOf(allAlpha, 'csi-csi-sidecars-provisioner')).toContain('referencegrants');
    const allAlphaButXns = await renderChart({
      namespace: NS,
      set: ['provisioner.flags.featureGates.AllAlpha=true', 'provisioner.flags.featureGates.CrossNamespaceVolumeDataSource=false'],
    });
    expect(rulesOf(allAlphaButXns, 'csi-csi-sidecars-provisioner')).not.toContain('referencegrants');
    for (const s of SIDECARS) expect(rulesOf(defaults, `csi-csi-sidecars-${s}`)).not.toContain('secrets');
    expect(defaults.filter((o) => o.metadata.name.endsWith('-capacity'))).toEqual([]);

    // (nameOverride "csi" makes the full name just the release name.)
    const max = await renderChart({ namespace: NS, valuesFiles: [maximal] });
    expect(rulesOf(max, 'csi-resizer')).not.toContain('pods');
    expect(rulesOf(max, 'csi-provisioner')).toContain('referencegrants');
    for (const s of SIDECARS) expect(rulesOf(max, `csi-${s}`)).toContain('secrets');

    // Without leader election only csi-provisioner keeps a Lease Role: its provisioning journal.
    const noLeaderElection = await renderChart({ namespace: NS, set: ['replicas=1', 'leaderElection.enabled=false'] });
    expect(noLeaderElection.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['csi-csi-sidecars-provisioner-leases']);
    const noJournal = await renderChart({ namespace: NS, set: ['replicas=1', 'leaderElection.enabled=false', 'provisioner.flags.provisioningJournal=false'] });
    expect(noJournal.filter((o) => o.kind === 'Role')).toEqual([]);
    expect((container(noLeaderElection, 'csi-resizer') as unknown as { livenessProbe: { httpGet: { path: string } } }).livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('prints install notes that say how to check the sidecars are healthy', async () => {
    const kubeconfig = clusterInfo().kubeconfig;
    for (const extra of [[], ['--values', maximal]]) {
      const r = await helm(['install', 'csi', chartDir, '--namespace', NS, '--dry-run=server', '--kubeconfig', kubeconfig, ...extra]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
      expect(notes).toMatch(/kubectl -n e2e-chart rollout status (deployment|statefulset)\/csi/);
      expect(notes).toMatch(/curl -s localhost:\d+\/healthz(\/leader-election)?/);
      expect(notes).toContain('lastState.terminated.message');
    }
  });

  it('refuses values the schema does not allow, naming the offending key', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['typo in a flag', { provisioner: { flags: { workerThread: 5 } } }, /provisioner\/flags.*workerThread/],
      ['typo at the top level', { replica: 3 }, /additional properties 'replica' not allowed/],
      ['a duration given as a number', { attacher: { flags: { timeout: 15 } } }, /attacher\/flags\/timeout.*want string/],
      ['a number given as a string', { replicas: 'two' }, /\/replicas.*want integer/],
      ['a malformed duration', { resizer: { flags: { retryIntervalMax: '5 minutes' } } }, /resizer\/flags\/retryIntervalMax/],
      ['an unknown feature gate', { resizer: { flags: { featureGates: { Topology: true } } } }, /featureGates.*Topology/],
      ['an unknown logging format', { provisioner: { flags: { loggingFormat: 'xml' } } }, /loggingFormat/],
    ];
    for (const [what, values, message] of cases) {
      const r = await helm(['template', 'csi', chartDir, '--values', valuesFile('bad', values)]);
      expect({ what, code: r.code }).toEqual({ what, code: 1 });
      expect({ what, stderr: r.stderr }).toEqual({ what, stderr: expect.stringContaining("values don't meet the specifications of the schema") });
      expect({ what, stderr: r.stderr }).toEqual({ what, stderr: expect.stringMatching(message) });
    }
  });

  it('refuses combinations that cannot work, with a message saying why', async () => {
    const cases: [string[], RegExp][] = [
      [['replicas=2', 'leaderElection.enabled=false'], /several replicas without leader election/],
      [['attacher.httpPort=8080'], /provisioner\.httpPort and attacher\.httpPort are both 8080/],
      [['provisioner.enabled=false', 'attacher.enabled=false', 'resizer.enabled=false'], /enable at least one sidecar/],
      [['csiDriver.create=true'], /csiDriver\.name is required/],
    ];
    for (const [set, message] of cases) {
      const r = await helm(['template', 'csi', chartDir, ...set.flatMap((s) => ['--set', s])]);
      expect({ set, code: r.code, stderr: r.stderr }).toEqual({ set, code: 1, stderr: expect.stringMatching(message) });
    }
  });

  it('passes every flag set in values to its sidecar, and the real binaries accept every argument', async () => {
    const tables = flagTables();
    const values: Record<string, { flags: Record<string, unknown> }> = {};
    for (const s of SIDECARS) {
      values[s] = { flags: Object.fromEntries(tables[s].map((row) => [row.key, nonDefaultValue(s, row)])) };
    }
    const objects = await renderChart({ namespace: NS, valuesFiles: [valuesFile('all-flags', values)] });
    for (const s of SIDECARS) {
      const args = container(objects, `csi-${s}`).args!;
      const expected = tables[s].map((row) => `--${row.flag}=${expectedText(row, values[s]!.flags[row.key])}`);
      expect(args.filter((a) => !isChartManaged(a))).toEqual(expected);
      // --version exits after parsing every flag: 0 means the binary took them all.
      const bin = join(repoRoot, 'packages', s, 'dist', 'cmd', `csi-${s}.js`);
      const r = await run(process.execPath, [bin, ...args, '--version']);
      expect({ sidecar: s, code: r.code, stderr: r.stderr }).toEqual({ sidecar: s, code: 0, stderr: expect.any(String) });
      expect(r.stdout).toMatch(new RegExp(`^csi-${s} v`));
    }
    expect(await dryRunAll(objects)).toEqual([]);
  });
});
