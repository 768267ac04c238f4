// What the transport needs of a kubeconfig: the server URL and a way to put credentials and TLS
// settings on a request. Two implementations:
//   - CredentialsConnection: bearer tokens (inline or a token file re-read every minute, so bound
//     service-account tokens rotate as with client-go), basic auth, client certificates and CAs
//     (inline base64 or files, re-read every minute so rotated files are picked up), insecure
//     skip-verify and tls-server-name. That covers in-cluster and ordinary kubeconfig files
//     without loading @kubernetes/client-node.
//   - connectionFromKubeConfig: anything shaped like client-node's KubeConfig (exec plugins,
//     auth providers, proxies), used only for the kubeconfigs that need it.

import fs from 'node:fs';
import type https from 'node:https';
import type { Clock } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';

export interface KubeConnection {
  /** The server URL, possibly with a path prefix. */
  readonly server: string;
  /** Set when requests go through a proxy; applyToHTTPSOptions then supplies the agent. */
  readonly proxyUrl?: string;
  /** Adds credentials (headers, auth, TLS material) to request options. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** The part of client-node's KubeConfig a connection needs (structural: no import of client-node). */
export interface KubeConfigLike {
  getCurrentCluster(): { server: string; proxyUrl?: string } | null;
  getCurrentContext(): string;
  getContextObject(name: string): { namespace?: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export function connectionFromKubeConfig(kc: KubeConfigLike): KubeConnection {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new Error('kubeconfig has no current cluster with a server URL');
  return { server: cluster.server, proxyUrl: cluster.proxyUrl || undefined, applyToHTTPSOptions: (opts) => kc.applyToHTTPSOptions(opts) };
}

export interface Credentials {
  server: string;
  /** PEM, inline (certificate-authority-data, decoded) or a file. */
  caData?: Buffer;
  caFile?: string;
  certData?: Buffer;
  certFile?: string;
  keyData?: Buffer;
  keyFile?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
}

/** How long a file read for credentials is trusted before it is read again (client-go: 1 minute). */
export const CREDENTIAL_FILE_REFRESH_MS = 60_000;

export class CredentialsConnection implements KubeConnection {
  readonly server: string;
  readonly #c: Credentials;
  readonly #clock: Clock;
  readonly #files = new Map<string, { data: Buffer; readAt: number }>();

  constructor(credentials: Credentials, clock: Clock = realClock) {
    this.#c = credentials;
    this.server = credentials.server;
    this.#clock = clock;
  }

  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    try {
      const c = this.#c;
      const ca = c.caData ?? (c.caFile ? this.#read(c.caFile, 'certificate-authority') : undefined);
      const cert = c.certData ?? (c.certFile ? this.#read(c.certFile, 'client-certificate') : undefined);
      const key = c.keyData ?? (c.keyFile ? this.#read(c.keyFile, 'client-key') : undefined);
      if (ca) opts.ca = ca;
      if (cert) opts.cert = cert;
      if (key) opts.key = key;
      if (c.insecureSkipTlsVerify) opts.rejectUnauthorized = false;
      if (c.tlsServerName) opts.servername = c.tlsServerName;
      const token = c.token || (c.tokenFile ? this.#read(c.tokenFile, 'token file').toString('utf8').trim() : undefined);
      const headers = (opts.headers ??= {}) as Record<string, string | string[] | number | undefined>;
      if (token) headers.Authorization = `Bearer ${token}`;
      else if (c.username || c.password) opts.auth = `${c.username ?? ''}:${c.password ?? ''}`;
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A credential file, cached for a minute; a failed re-read keeps the last good content. */
  #read(file: string, what: string): Buffer {
    const now = this.#clock.now();
    const cached = this.#files.get(file);
    if (cached && now - cached.readAt < CREDENTIAL_FILE_REFRESH_MS) return cached.data;
    try {
      const data = fs.readFileSync(file);
      this.#files.set(file, { data, readAt: now });
      return data;
    } catch (err) {
      if (cached) return cached.data;
      throw new Error(`cannot read ${what} ${JSON.stringify(file)}: ${(err as Error).message}`, { cause: err });
    }
  }
}
