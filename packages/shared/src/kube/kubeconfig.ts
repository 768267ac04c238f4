// Where the sidecar's Kubernetes credentials come from, mirroring client-go's
// clientcmd.BuildConfigFromFlags(--master, --kubeconfig) plus the usual developer fallbacks:
//   1. --kubeconfig (an explicit path always wins; a broken file is an error, not a fallback),
//   2. KUBECONFIG (path-list; files merged, first file's current-context wins),
//   3. the in-cluster service account, but only without --master: a bare --master means "talk to
//      this server", and the pod's token must not be sent to a server the cluster did not name,
//   4. ~/.kube/config,
//   5. --master alone: that server, no credentials (as Go does with only --master).
// --master then overrides the server of the chosen context.
//
// Files are read with our own small YAML reader and credentials applied by CredentialsConnection,
// so the common cases (in-cluster, tokens, client certificates) never load
// @kubernetes/client-node, whose module graph costs ~75 MiB of RSS (ADR 7). Its KubeConfig is
// loaded on demand, synchronously, only for what it alone handles: exec credential plugins,
// auth-provider entries, proxy-url, and YAML our reader does not cover.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../lifecycle/clock.js';
import { connectionFromKubeConfig, CredentialsConnection, type KubeConnection } from './connection.js';
import { parseYamlSubset, YamlSubsetError } from './yaml-subset.js';

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
  /** For the credential-file refresh; the real clock by default. */
  clock?: Clock;
}

export type KubeConfigSource = 'kubeconfig-flag' | 'KUBECONFIG' | 'in-cluster' | 'home' | 'master-only' | 'provided';

/** The kubeconfig document, with its own field names. */
export interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  [field: string]: unknown;
}
export interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  [field: string]: unknown;
}
export interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
  [field: string]: unknown;
}
export interface Kubeconfig {
  clusters: { name: string; cluster: KubeconfigCluster }[];
  users: { name: string; user: KubeconfigUser }[];
  contexts: { name: string; context: KubeconfigContext }[];
  'current-context'?: string;
  [field: string]: unknown;
}

export interface LoadedKubeConfig {
  /** Server and credentials, what the transport uses. */
  connection: KubeConnection;
  /** The (merged) kubeconfig, credential file paths made absolute; undefined for 'provided'. */
  config: Kubeconfig | undefined;
  /** The current cluster and user entries (after the --master override). */
  cluster: KubeconfigCluster | undefined;
  user: KubeconfigUser | undefined;
  source: KubeConfigSource;
  /** The server every request goes to (after the --master override). */
  server: string;
  /** Files read, for log lines. */
  files: string[];
  /** Namespace of the current context (the pod's namespace in-cluster), if any. */
  namespace: string | undefined;
  /** True when @kubernetes/client-node handles the credentials (exec, auth-provider, proxy-url). */
  usesClientNode: boolean;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type ClientNode = typeof import('@kubernetes/client-node');
let clientNodeModule: ClientNode | undefined;
/** @kubernetes/client-node, loaded on first use only (require of an ES module: synchronous). */
function clientNode(): ClientNode {
  clientNodeModule ??= createRequire(import.meta.url)('@kubernetes/client-node') as ClientNode;
  return clientNodeModule;
}

function fileExists(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Parses kubeconfig text: our reader first, client-node's full YAML parser for the rest. */
export function parseKubeconfigText(text: string): unknown {
  try {
    return parseYamlSubset(text);
  } catch (err) {
    if (!(err instanceof YamlSubsetError)) throw err;
    return clientNode().loadYaml(text);
  }
}

function namedList<K extends string, T>(v: unknown, inner: K, what: string): ({ name: string } & Record<K, T>)[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v.map((e, i) => {
    if (typeof e !== 'object' || e === null || typeof (e as { name?: unknown }).name !== 'string') throw new Error(`${what}[${i}] has no name`);
    const body = (e as Record<string, unknown>)[inner];
    return { ...(e as object), name: (e as { name: string }).name, [inner]: typeof body === 'object' && body !== null ? body : {} } as { name: string } & Record<K, T>;
  });
}

/** Reads one kubeconfig file; relative credential paths are made absolute against its folder. */
function readKubeconfigFile(file: string, what: string): Kubeconfig {
  try {
    const doc = parseKubeconfigText(fs.readFileSync(file, 'utf8'));
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error('not a kubeconfig mapping');
    const raw = (doc ?? {}) as Record<string, unknown>;
    const cfg: Kubeconfig = {
      ...raw,
      clusters: namedList<'cluster', KubeconfigCluster>(raw.clusters, 'cluster', 'clusters'),
      users: namedList<'user', KubeconfigUser>(raw.users, 'user', 'users'),
      contexts: namedList<'context', KubeconfigContext>(raw.contexts, 'context', 'contexts'),
    };
    const cc = raw['current-context'];
    cfg['current-context'] = typeof cc === 'string' ? cc : undefined;
    const dir = path.dirname(path.resolve(file));
    const abs = (p: unknown) => (typeof p === 'string' && p !== '' && !path.isAbsolute(p) ? path.join(dir, p) : p);
    for (const c of cfg.clusters) {
      if (c.cluster['certificate-authority'] !== undefined) c.cluster['certificate-authority'] = abs(c.cluster['certificate-authority']) as string;
    }
    for (const u of cfg.users) {
      for (const k of ['client-certificate', 'client-key', 'tokenFile'] as const) if (u.user[k] !== undefined) u.user[k] = abs(u.user[k]) as string;
      const exec = u.user.exec as { command?: unknown } | undefined;
      // As clientcmd: an exec command with a path separator is relative to the file; a bare name is looked up on PATH.
      if (exec && typeof exec.command === 'string' && exec.command.includes(path.sep)) u.user.exec = { ...exec, command: abs(exec.command) };
    }
    return cfg;
  } catch (err) {
    throw new Error(`cannot load kubeconfig ${JSON.stringify(file)} (from ${what}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function inClusterConfig(env: Record<string, string | undefined>, dir: string): { cfg: Kubeconfig } | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  if (!host || !port || !fileExists(tokenFile)) return undefined;
  const hostPart = net.isIPv6(host) ? `[${host}]` : host;
  const caFile = path.join(dir, 'ca.crt');
  const nsFile = path.join(dir, 'namespace');
  const namespace = fileExists(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : undefined;
  return {
    cfg: {
      clusters: [{ name: 'inCluster', cluster: { server: `https://${hostPart}:${port}`, ...(fileExists(caFile) ? { 'certificate-authority': caFile } : {}) } }],
      // The token file is re-read every minute: bound service-account tokens rotate.
      users: [{ name: 'inClusterUser', user: { tokenFile } }],
      contexts: [{ name: 'inClusterContext', context: { cluster: 'inCluster', user: 'inClusterUser', ...(namespace ? { namespace } : {}) } }],
      'current-context': 'inClusterContext',
    },
  };
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

/** KUBECONFIG merge rule: the first file to define a cluster, user or context wins. */
function mergeMissing(into: Kubeconfig, more: Kubeconfig): void {
  for (const c of more.clusters) if (!into.clusters.some((x) => x.name === c.name)) into.clusters.push(c);
  for (const u of more.users) if (!into.users.some((x) => x.name === u.name)) into.users.push(u);
  for (const c of more.contexts) if (!into.contexts.some((x) => x.name === c.name)) into.contexts.push(c);
  if (!into['current-context'] && more['current-context']) into['current-context'] = more['current-context'];
}

function decodeData(v: unknown, field: string): Buffer | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const buf = Buffer.from(v, 'base64');
  if (buf.length === 0) throw new Error(`${field} is not base64`);
  return buf;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));

/** Resolves the kubeconfig by the precedence above; throws a message that names the flag or file. */
export function loadKubeConfig(opts: KubeConfigSourceOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const master = opts.master ? validateMaster(opts.master) : undefined;
  let cfg: Kubeconfig | undefined;
  let source: KubeConfigSource | undefined;
  const files: string[] = [];

  if (opts.kubeconfig) {
    cfg = readKubeconfigFile(opts.kubeconfig, '--kubeconfig');
    files.push(opts.kubeconfig);
    source = 'kubeconfig-flag';
  } else if (env.KUBECONFIG) {
    for (const f of env.KUBECONFIG.split(path.delimiter).filter((x) => x !== '')) {
      // Like kubectl, missing files in the list are skipped; the first existing file comes first.
      if (!fileExists(f)) continue;
      const one = readKubeconfigFile(f, 'KUBECONFIG');
      if (cfg) mergeMissing(cfg, one);
      else cfg = one;
      files.push(f);
    }
    if (!cfg) throw new Error(`KUBECONFIG=${JSON.stringify(env.KUBECONFIG)} names no existing file`);
    source = 'KUBECONFIG';
  } else if (!master) {
    const ic = inClusterConfig(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    if (ic) {
      cfg = ic.cfg;
      source = 'in-cluster';
    }
  }
  if (!cfg) {
    const home = opts.homeDir ?? os.homedir();
    const file = path.join(home, '.kube', 'config');
    if (home && fileExists(file)) {
      cfg = readKubeconfigFile(file, '~/.kube/config');
      files.push(file);
      source = 'home';
    }
  }
  if (!cfg && master) {
    cfg = {
      clusters: [{ name: 'master', cluster: { server: master } }],
      users: [{ name: 'anonymous', user: {} }],
      contexts: [{ name: 'master', context: { cluster: 'master', user: 'anonymous' } }],
      'current-context': 'master',
    };
    source = 'master-only';
  }
  if (!cfg || !source) {
    throw new Error(
      'no Kubernetes configuration found: pass --kubeconfig or --master, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
    );
  }

  const where = files.length ? files.map((f) => JSON.stringify(f)).join(', ') : `(${source})`;
  const currentName = cfg['current-context'] ?? '';
  const context = cfg.contexts.find((c) => c.name === currentName)?.context;
  const clusterEntry = context ? cfg.clusters.find((c) => c.name === context.cluster) : undefined;
  if (!context || !clusterEntry) {
    throw new Error(`kubeconfig ${where} has no usable current context (current-context ${JSON.stringify(currentName)})`);
  }
  if (master) {
    // Replace the current cluster with a copy that has the new server; credentials stay.
    const patched = { ...clusterEntry.cluster, server: master };
    if (master.startsWith('http:')) patched['insecure-skip-tls-verify'] = true; // no TLS to verify
    cfg.clusters = cfg.clusters.map((c) => (c === clusterEntry ? { ...c, cluster: patched } : c));
  }
  const cluster = cfg.clusters.find((c) => c.name === clusterEntry.name)!.cluster;
  const user = cfg.users.find((u) => u.name === context.user)?.user ?? {};
  const server = str(cluster.server);
  if (!server) throw new Error(`kubeconfig cluster ${JSON.stringify(clusterEntry.name)} has no server URL`);
  const namespace = str(context.namespace);

  let connection: KubeConnection;
  const usesClientNode = user.exec !== undefined || user['auth-provider'] !== undefined || str(cluster['proxy-url']) !== undefined;
  try {
    if (usesClientNode) {
      const kc = new (clientNode().KubeConfig)();
      // client-node reads the same document; its own paths were made absolute above.
      kc.loadFromString(JSON.stringify(cfg));
      connection = connectionFromKubeConfig(kc);
    } else {
      connection = new CredentialsConnection(
        {
          server,
          caData: decodeData(cluster['certificate-authority-data'], 'certificate-authority-data'),
          caFile: str(cluster['certificate-authority']),
          certData: decodeData(user['client-certificate-data'], 'client-certificate-data'),
          certFile: str(user['client-certificate']),
          keyData: decodeData(user['client-key-data'], 'client-key-data'),
          keyFile: str(user['client-key']),
          insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
          tlsServerName: str(cluster['tls-server-name']),
          token: str(user.token),
          tokenFile: str(user.tokenFile),
          username: str(user.username),
          password: str(user.password),
        },
        opts.clock,
      );
    }
  } catch (err) {
    throw new Error(`kubeconfig ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { connection, config: cfg, cluster, user, source, server, files, namespace, usesClientNode };
}
