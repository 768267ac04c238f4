// What the packaging specs share: helm (built from its Go module by hack/build-go-components.sh),
// rendering charts/csi-sidecars into objects, and raw API calls on the test control plane
// (server-side apply, dry-run or for real, and access reviews as an impersonated user).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { repoRoot } from '../../src/harness/paths.js';

export const chartDir = join(repoRoot, 'charts', 'csi-sidecars');
export const SIDECARS = ['provisioner', 'attacher', 'resizer'] as const;
export type SidecarName = (typeof SIDECARS)[number];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never rejects (the exit code is in the result). */
export function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && typeof err.code !== 'number' ? `\n${err.message}` : '') });
      },
    );
  });
}

/** Scratch space (helm's own folders, kept out of $HOME, and values files), made on first use. */
let scratchDir: string | undefined;
function scratch(): string {
  scratchDir ??= mkdtempSync(join(tmpdir(), 'csi-chart-'));
  return scratchDir;
}

let helmPath: Promise<string> | undefined;

/** The helm binary, built on first use (cached by the build script afterwards). */
export function helmBinary(): Promise<string> {
  helmPath ??= run('bash', [join(repoRoot, 'hack', 'build-go-components.sh'), 'helm'], { timeoutMs: 30 * 60_000 }).then((r) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('helm='));
    if (r.code !== 0 || !line) throw new Error(`building helm failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    return join(line.slice('helm='.length), 'helm');
  });
  return helmPath;
}

export async function helm(args: string[]): Promise<RunResult> {
  const home = join(scratch(), 'helm');
  const env = { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  return run(await helmBinary(), args, { env });
}

/** Writes a values file into the scratch folder; returns its path. */
export function valuesFile(name: string, values: unknown): string {
  const dir = join(scratch(), 'values');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  // JSON is YAML, and keeps the types exactly as written here.
  writeFileSync(file, JSON.stringify(values, null, 2));
  return file;
}

export function cleanupScratch(): void {
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  scratchDir = undefined;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
}

/** `helm template`; throws with helm's message when it fails. */
export async function renderChart(opts: RenderOptions = {}): Promise<KubeObject[]> {
  const args = ['template', opts.release ?? 'csi', chartDir, '--namespace', opts.namespace ?? 'default'];
  for (const f of opts.valuesFiles ?? []) args.push('--values', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  [k: string]: unknown;
}

export function podSpec(objects: KubeObject[]): { containers: Container[]; [k: string]: unknown } {
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (!workload) throw new Error('no Deployment or StatefulSet rendered');
  return (workload as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec;
}

export function container(objects: KubeObject[], name: string): Container {
  const c = podSpec(objects).containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

// ---- API calls -------------------------------------------------------------------------------

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** One request as the kubeconfig's user (the harness's admin), with extra headers if given. */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const kc = clusterKube().kc;
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`kubeconfig ${clusterInfo().kubeconfig} names no current cluster`);
  const url = new URL(path, server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const opts: RequestOptions = {
    method,
    timeout: 30_000,
    headers: {
      accept: 'application/json',
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
  };
  // Credentials and TLS settings (the harness's serving certificate is self-signed) from the kubeconfig.
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Where each kind the chart renders is served (a kind missing here fails the spec clearly). */
const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  'v1/ServiceAccount': { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  'v1/Service': { prefix: '/api/v1', plural: 'services', namespaced: true },
  'apps/v1/Deployment': { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  'apps/v1/StatefulSet': { prefix: '/apis/apps/v1', plural: 'statefulsets', namespaced: true },
  'policy/v1/PodDisruptionBudget': { prefix: '/apis/policy/v1', plural: 'poddisruptionbudgets', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  'storage.k8s.io/v1/CSIDriver': { prefix: '/apis/storage.k8s.io/v1', plural: 'csidrivers', namespaced: false },
  'monitoring.coreos.com/v1/ServiceMonitor': { prefix: '/apis/monitoring.coreos.com/v1', plural: 'servicemonitors', namespaced: true },
};

export function objectPath(obj: KubeObject): string {
  const r = RESOURCES[`${obj.apiVersion}/${obj.kind}`];
  if (!r) throw new Error(`the packaging specs do not know where ${obj.apiVersion} ${obj.kind} is served: add it to RESOURCES`);
  if (r.namespaced && !obj.metadata.namespace) throw new Error(`${obj.kind} ${obj.metadata.name} has no metadata.namespace`);
  const ns = r.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace!)}` : '';
  return `${r.prefix}${ns}/${r.plural}/${encodeURIComponent(obj.metadata.name)}`;
}

export const FIELD_MANAGER = 'csi-sidecars-chart-spec';

/**
 * Server-side apply with strict field validation (an unknown or misspelt field is an error, not
 * silently dropped); with dryRun the API server validates and admits but stores nothing.
 */
export async function serverSideApply(obj: KubeObject, { dryRun }: { dryRun: boolean }): Promise<ApiResponse> {
  const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', force: 'true' });
  if (dryRun) query.set('dryRun', 'All');
  return api('PATCH', `${objectPath(obj)}?${query}`, obj, { 'content-type': 'application/apply-patch+yaml' });
}

export function statusMessage(r: ApiResponse): string {
  const b = r.body as { message?: string } | string;
  return typeof b === 'string' ? b : (b.message ?? JSON.stringify(b));
}

export async function ensureNamespace(name: string): Promise<void> {
  const r = await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: ${r.status} ${statusMessage(r)}`);
}

export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Empty for cluster scope (a cluster-scoped resource, or a namespaced one in every namespace). */
  namespace?: string;
}

export function describeCheck(c: AccessCheck): string {
  const res = `${c.group || 'core'}/${c.resource}${c.subresource ? `/${c.subresource}` : ''}`;
  return `${c.verb} ${res} ${c.namespace ? `in namespace ${c.namespace}` : 'cluster-wide'}`;
}

/** Asks the API server whether `user` may do something, as that user (impersonation). */
export async function canI(user: string, check: AccessCheck): Promise<boolean> {
  const r = await api(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: check.verb,
          group: check.group,
          resource: check.resource,
          ...(check.subresource ? { subresource: check.subresource } : {}),
          ...(check.namespace ? { namespace: check.namespace } : {}),
        },
      },
    },
    { 'Impersonate-User': user },
  );
  if (r.status !== 201) throw new Error(`SelfSubjectAccessReview as ${user} (${describeCheck(check)}): ${r.status} ${statusMessage(r)}`);
  return (r.body as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/** The flag tables of templates/_flags.tpl (generated from the sidecars' flag definitions). */
export interface FlagRow {
  key: string;
  flag: string;
  kind: 'bool' | 'int' | 'float' | 'string' | 'map';
  default: string;
  sep?: string;
}

export function flagTables(): Record<SidecarName, FlagRow[]> {
  const text = readFileSync(join(chartDir, 'templates', '_flags.tpl'), 'utf8');
  const out: Partial<Record<SidecarName, FlagRow[]>> = {};
  for (const m of text.matchAll(/define "csi-sidecars\.flagTable\.(\w+)" -\}\}\n([\s\S]*?)\n\{\{- end -\}\}/g)) {
    out[m[1] as SidecarName] = JSON.parse(m[2]!) as FlagRow[];
  }
  for (const s of SIDECARS) if (!out[s]) throw new Error(`templates/_flags.tpl has no flag table for ${s}`);
  return out as Record<SidecarName, FlagRow[]>;
}
