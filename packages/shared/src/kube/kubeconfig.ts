// Where the sidecar's Kubernetes credentials come from, mirroring client-go's
// clientcmd.BuildConfigFromFlags(--master, --kubeconfig) plus the usual developer fallbacks:
//   1. --kubeconfig (an explicit path always wins; a broken file is an error, not a fallback),
//   2. KUBECONFIG (path-list; files merged, first file's current-context wins),
//   3. the in-cluster service account, but only without --master: a bare --master means "talk to
//      this server", and the pod's token must not be sent to a server the cluster did not name,
//   4. ~/.kube/config,
//   5. --master alone: that server, no credentials (as Go does with only --master).
// --master then overrides the server of the chosen context.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigSourceOptions {
  /** The --kubeconfig flag. */
  kubeconfig?: string;
  /** The --master flag: overrides the server URL. */
  master?: string;
  /** Environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST/PORT from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Home directory for ~/.kube/config; os.homedir() by default. */
  homeDir?: string;
  /** Service-account directory; /var/run/secrets/kubernetes.io/serviceaccount by default. */
  serviceAccountDir?: string;
}

export type KubeConfigSource = 'kubeconfig-flag' | 'KUBECONFIG' | 'in-cluster' | 'home' | 'master-only' | 'provided';

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The server every request goes to (after the --master override). */
  server: string;
  /** Files read, for log lines. */
  files: string[];
  /** Namespace of the current context (the pod's namespace in-cluster), if any. */
  namespace: string | undefined;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function fileExists(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function loadFile(kc: KubeConfig, file: string, what: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new Error(`cannot load kubeconfig ${JSON.stringify(file)} (from ${what}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function loadInCluster(env: Record<string, string | undefined>, dir: string): KubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  if (!host || !port || !fileExists(tokenFile)) return undefined;
  const hostPart = net.isIPv6(host) ? `[${host}]` : host;
  const caFile = path.join(dir, 'ca.crt');
  const nsFile = path.join(dir, 'namespace');
  const namespace = fileExists(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : undefined;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server: `https://${hostPart}:${port}`, caFile: fileExists(caFile) ? caFile : undefined, skipTLSVerify: false }],
    // client-node re-reads a tokenFile auth provider every minute: bound service-account tokens rotate.
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace }],
    currentContext: 'inClusterContext',
  });
  return kc;
}

function validateMaster(master: string): string {
  let url: URL;
  try {
    url = new URL(master.includes('://') ? master : `https://${master}`);
  } catch {
    throw new Error(`--master ${JSON.stringify(master)} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`--master ${JSON.stringify(master)}: only http:// and https:// servers are supported`);
  }
  return url.toString().replace(/\/$/, '');
}

/** Resolves the kubeconfig by the precedence above; throws a message that names the flag or file. */
export function loadKubeConfig(opts: KubeConfigSourceOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const master = opts.master ? validateMaster(opts.master) : undefined;
  let kc: KubeConfig | undefined;
  let source: KubeConfigSource | undefined;
  const files: string[] = [];

  if (opts.kubeconfig) {
    kc = new KubeConfig();
    loadFile(kc, opts.kubeconfig, '--kubeconfig');
    files.push(opts.kubeconfig);
    source = 'kubeconfig-flag';
  } else if (env.KUBECONFIG) {
    const list = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '');
    kc = new KubeConfig();
    let first = true;
    for (const f of list) {
      // Like kubectl, missing files in the list are skipped; the first existing file comes first.
      if (!fileExists(f)) continue;
      if (first) {
        loadFile(kc, f, 'KUBECONFIG');
        first = false;
      } else {
        const more = new KubeConfig();
        loadFile(more, f, 'KUBECONFIG');
        mergeMissing(kc, more);
      }
      files.push(f);
    }
    if (first) throw new Error(`KUBECONFIG=${JSON.stringify(env.KUBECONFIG)} names no existing file`);
    source = 'KUBECONFIG';
  } else if (!master) {
    kc = loadInCluster(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    if (kc) source = 'in-cluster';
  }
  if (!kc) {
    const home = opts.homeDir ?? os.homedir();
    const file = path.join(home, '.kube', 'config');
    if (home && fileExists(file)) {
      kc = new KubeConfig();
      loadFile(kc, file, '~/.kube/config');
      files.push(file);
      source = 'home';
    }
  }
  if (!kc && master) {
    kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses plain http:// unless skipTLSVerify is set; a bare http master has no TLS to verify.
      clusters: [{ name: 'master', server: master, skipTLSVerify: master.startsWith('http:') }],
      users: [{ name: 'anonymous' }],
      contexts: [{ name: 'master', cluster: 'master', user: 'anonymous' }],
      currentContext: 'master',
    });
    source = 'master-only';
  }
  if (!kc || !source) {
    throw new Error(
      'no Kubernetes configuration found: pass --kubeconfig or --master, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
    );
  }

  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!context || !cluster) {
    throw new Error(
      `kubeconfig ${files.length ? files.map((f) => JSON.stringify(f)).join(', ') : `(${source})`} has no usable current context ` +
        `(current-context ${JSON.stringify(kc.getCurrentContext() ?? '')})`,
    );
  }
  if (master && source !== 'master-only') {
    // Cluster objects are plain data: replace the current one with a copy that has the new server.
    // A plain-http master has no TLS to verify; client-node refuses http:// unless skipTLSVerify is set.
    const clusters = kc.getClusters().map((c) =>
      c.name === cluster.name ? { ...c, server: master, skipTLSVerify: master.startsWith('http:') ? true : c.skipTLSVerify } : c,
    );
    kc.loadFromOptions({ clusters, users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
  }
  const server = kc.getCurrentCluster()!.server;
  if (!server) throw new Error(`kubeconfig cluster ${JSON.stringify(cluster.name)} has no server URL`);
  return { kubeConfig: kc, source, server, files, namespace: context.namespace };
}

/** KUBECONFIG merge rule: the first file to define a cluster, user or context wins. */
function mergeMissing(into: KubeConfig, more: KubeConfig): void {
  const has = <T extends { name: string }>(list: readonly T[], name: string) => list.some((x) => x.name === name);
  for (const c of more.getClusters()) if (!has(into.getClusters(), c.name)) into.addCluster(c);
  for (const u of more.getUsers()) if (!has(into.getUsers(), u.name)) into.addUser(u);
  for (const c of more.getContexts()) if (!has(into.getContexts(), c.name)) into.addContext(c);
  if (!into.getCurrentContext() && more.getCurrentContext()) into.setCurrentContext(more.getCurrentContext());
}
