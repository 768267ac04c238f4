// The chart's RBAC, installed for real and checked as the sidecars' ServiceAccount would see it
// (impersonation + SelfSubjectAccessReview on the real kube-apiserver): everything each sidecar
// needs is allowed, and nothing broader is. "Needs" comes from the sidecars' own RBAC files
// (packages/<sidecar>/deploy/rbac.yaml, written beside the code that makes the calls), less the
// verbs those files keep only for parity with the Go sidecars' samples (GO_SAMPLE_EXTRAS).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../src/harness/paths.js';
import {
  SIDECARS,
  api,
  canI,
  cleanupScratch,
  describeCheck,
  ensureNamespace,
  helmBinary,
  objectPath,
  renderChart,
  serverSideApply,
  statusMessage,
  type AccessCheck,
  type KubeObject,
  type SidecarName,
} from './chart-tools.js';

const NS = 'e2e-chart-rbac';
const OTHER_NS = 'e2e-chart-rbac-other';
const RELEASE = 'rbac';
const SA_USER = `system:serviceaccount:${NS}:${RELEASE}-csi-sidecars`;

// Capacity on with owner level 2 (the Deployment) exercises the provisioner's capacity Role fully.
const INSTALL_SET = ['provisioner.flags.enableCapacity=true', 'provisioner.flags.capacityOwnerrefLevel=2'];

/**
 * Verbs the sidecars' RBAC files grant only because the Go sidecars' sample RBAC does; the code
 * never makes these calls, so the chart leaves them out.
 */
const GO_SAMPLE_EXTRAS: Record<SidecarName, { group: string; resource: string; verbs: string[]; why: string }[]> = {
  provisioner: [
    { group: '', resource: 'events', verbs: ['list', 'watch', 'update'], why: 'events are created, then patched when repeated' },
    { group: 'storage.k8s.io', resource: 'csistoragecapacities', verbs: ['get', 'patch'], why: 'capacities are read through the informer and replaced with update' },
  ],
  attacher: [],
  resizer: [],
};

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** "scope|group|resource|verb", scope being "cluster" or a namespace. */
type Grant = string;

function grantKey(scope: string, group: string, resource: string, verb: string): Grant {
  return `${scope}|${group}|${resource}|${verb}`;
}

function grantToCheck(g: Grant): AccessCheck {
  const [scope, group, resourcePath, verb] = g.split('|') as [string, string, string, string];
  const [resource, subresource] = resourcePath.split('/') as [string, string | undefined];
  return { verb, group, resource, ...(subresource ? { subresource } : {}), ...(scope === 'cluster' ? {} : { namespace: scope }) };
}

function rulesToGrants(rules: Rule[], scope: (resource: string) => string): Set<Grant> {
  const out = new Set<Grant>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(grantKey(scope(res), g, res, v));
  return out;
}

/** What a sidecar needs, from its own RBAC file: cluster-wide rules, and the namespaced Role. */
function needsFromPackageFile(sidecar: SidecarName): Set<Grant> {
  const text = readFileSync(join(repoRoot, 'packages', sidecar, 'deploy', 'rbac.yaml'), 'utf8');
  const needs = new Set<Grant>();
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as { kind?: string; rules?: Rule[] } | null;
    if (!obj?.rules) continue;
    // The package files put the Lease and the capacity objects in one namespaced Role; the chart
    // installs both in the release namespace here.
    const grants = rulesToGrants(obj.rules, () => (obj.kind === 'ClusterRole' ? 'cluster' : NS));
    for (const g of grants) needs.add(g);
  }
  for (const extra of GO_SAMPLE_EXTRAS[sidecar]) {
    for (const v of extra.verbs) {
      for (const scope of ['cluster', NS]) needs.delete(grantKey(scope, extra.group, extra.resource, v));
    }
  }
  return needs;
}

/** Everything the installed objects grant to our ServiceAccount, read from the objects. */
function grantsOf(objects: KubeObject[], serviceAccount: string): Set<Grant> {
  const roles = new Map<string, Rule[]>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole/${o.metadata.name}`, (o as unknown as { rules: Rule[] }).rules);
    if (o.kind === 'Role') roles.set(`Role/${o.metadata.namespace}/${o.metadata.name}`, (o as unknown as { rules: Rule[] }).rules);
  }
  const out = new Set<Grant>();
  for (const o of objects) {
    if (o.kind !== 'ClusterRoleBinding' && o.kind !== 'RoleBinding') continue;
    const b = o as unknown as { subjects: { kind: string; name: string; namespace: string }[]; roleRef: { kind: string; name: string } };
    if (!b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NS)) continue;
    const key = b.roleRef.kind === 'ClusterRole' ? `ClusterRole/${b.roleRef.name}` : `Role/${o.metadata.namespace}/${b.roleRef.name}`;
    const rules = roles.get(key);
    if (!rules) throw new Error(`${o.kind} ${o.metadata.name} refers to ${key}, which the chart did not render`);
    const scope = o.kind === 'ClusterRoleBinding' ? 'cluster' : o.metadata.namespace!;
    for (const g of rulesToGrants(rules, () => scope)) out.add(g);
  }
  return out;
}

async function install(objects: KubeObject[]): Promise<void> {
  for (const obj of objects) {
    const r = await serverSideApply(obj, { dryRun: false });
    if (r.status !== 200 && r.status !== 201) throw new Error(`apply ${obj.kind} ${obj.metadata.name}: ${r.status} ${statusMessage(r)}`);
  }
}

async function uninstall(objects: KubeObject[]): Promise<void> {
  for (const obj of objects) {
    const r = await api('DELETE', objectPath(obj));
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new Error(`delete ${obj.kind} ${obj.metadata.name}: ${r.status} ${statusMessage(r)}`);
  }
}

async function refusedChecks(user: string, checks: AccessCheck[], expectAllowed: boolean): Promise<string[]> {
  const wrong: string[] = [];
  for (const c of checks) if ((await canI(user, c)) !== expectAllowed) wrong.push(describeCheck(c));
  return wrong;
}

describe('charts/csi-sidecars RBAC on a real kube-apiserver', () => {
  let installed: KubeObject[] = [];
  const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

  beforeAll(async () => {
    await helmBinary();
    await ensureNamespace(NS);
    await ensureNamespace(OTHER_NS);
    const objects = await renderChart({ release: RELEASE, namespace: NS, set: INSTALL_SET });
    installed = objects.filter((o) => rbacKinds.has(o.kind));
    await install(installed);
  }, 30 * 60_000);

  afterAll(async () => {
    await uninstall(installed);
    cleanupScratch();
  });

  it('grants exactly what the sidecars\' own RBAC files list, less the Go-sample-only verbs', () => {
    const granted = grantsOf(installed, `${RELEASE}-csi-sidecars`);
    const needed = new Set<Grant>();
    for (const s of SIDECARS) for (const g of needsFromPackageFile(s)) needed.add(g);
    expect([...granted].sort()).toEqual([...needed].sort());
    // No wildcard anywhere.
    expect([...granted].filter((g) => g.includes('*'))).toEqual([]);
  });

  it('lets the ServiceAccount do everything each sidecar needs', async () => {
    for (const s of SIDECARS) {
      const checks = [...needsFromPackageFile(s)].map(grantToCheck);
      expect(checks.length).toBeGreaterThan(3);
      expect({ sidecar: s, refused: await refusedChecks(SA_USER, checks, true) }).toEqual({ sidecar: s, refused: [] });
    }
  });

  it('allows nothing broader: other verbs on the same resources, other namespaces, secrets, wildcards', async () => {
    // Probes are built from what the sidecars need (not from what the chart grants), so a grant
    // the chart adds by mistake is caught here too.
    const needed = new Set<Grant>();
    for (const s of SIDECARS) for (const g of needsFromPackageFile(s)) needed.add(g);
    // A cluster-wide grant covers every namespace.
    const allows = (scope: string, group: string, resource: string, verb: string) =>
      needed.has(grantKey(scope, group, resource, verb)) || needed.has(grantKey('cluster', group, resource, verb));
    const probes: AccessCheck[] = [];
    // Every standard verb the sidecars do not need, on every resource they need something on.
    const resources = new Set([...needed].map((g) => g.split('|').slice(0, 3).join('|')));
    for (const r of resources) {
      const [scope, group, resource] = r.split('|') as [string, string, string];
      for (const verb of ALL_VERBS) {
        if (!allows(scope, group, resource, verb)) probes.push(grantToCheck(grantKey(scope, group, resource, verb)));
      }
    }
    // Namespaced needs do not reach other namespaces.
    for (const g of needed) {
      const c = grantToCheck(g);
      if (c.namespace && !allows('cluster', c.group, g.split('|')[2]!, c.verb)) probes.push({ ...c, namespace: OTHER_NS });
    }
    probes.push(
      { verb: 'get', group: '', resource: 'secrets' },
      { verb: 'list', group: '', resource: 'secrets' },
      { verb: 'get', group: '', resource: 'secrets', namespace: NS },
      { verb: 'get', group: '', resource: 'configmaps', namespace: NS },
      { verb: 'create', group: '', resource: 'pods', namespace: NS },
      { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: NS },
      { verb: 'create', group: '', resource: 'serviceaccounts', subresource: 'token', namespace: NS },
      { verb: 'update', group: '', resource: 'nodes' },
      { verb: 'create', group: 'storage.k8s.io', resource: 'csidrivers' },
      { verb: 'delete', group: 'storage.k8s.io', resource: 'storageclasses' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'impersonate', group: '', resource: 'users' },
      { verb: '*', group: '*', resource: '*' },
      { verb: '*', group: '', resource: 'persistentvolumes' },
    );
    expect(probes.length).toBeGreaterThan(50);
    expect(await refusedChecks(SA_USER, probes, false)).toEqual([]);
  });

  it('gives each sidecar only its own rules, and secrets only when asked (get, never list)', async () => {
    const release = 'rbac-attacher-only';
    const user = `system:serviceaccount:${NS}:${release}-csi-sidecars`;
    const objects = (
      await renderChart({
        release,
        namespace: NS,
        set: ['provisioner.enabled=false', 'resizer.enabled=false', 'attacher.rbac.readSecrets=true'],
      })
    ).filter((o) => rbacKinds.has(o.kind));
    await install(objects);
    try {
      expect(
        await refusedChecks(
          user,
          [
            { verb: 'patch', group: 'storage.k8s.io', resource: 'volumeattachments' },
            { verb: 'patch', group: 'storage.k8s.io', resource: 'volumeattachments', subresource: 'status' },
            { verb: 'get', group: '', resource: 'secrets', namespace: OTHER_NS },
            { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
          ],
          true,
        ),
      ).toEqual([]);
      expect(
        await refusedChecks(
          user,
          [
            { verb: 'create', group: '', resource: 'persistentvolumes' },
            { verb: 'patch', group: '', resource: 'persistentvolumeclaims', subresource: 'status' },
            { verb: 'create', group: '', resource: 'events', namespace: NS },
            { verb: 'list', group: '', resource: 'secrets' },
            { verb: 'watch', group: '', resource: 'secrets', namespace: NS },
          ],
          false,
        ),
      ).toEqual([]);
    } finally {
      await uninstall(objects);
    }
  });
});
