// A fault-injecting proxy for the API server: plain HTTP on 127.0.0.1 in front of
// kube-apiserver's HTTPS, forwarding every request as it is (the client's bearer token
// included, so the apiserver still authenticates and authorizes the real caller). A sidecar
// pointed at it through a kubeconfig of its own sees the faults; everything else (the harness,
// kube-controller-manager) talks to the apiserver directly. Rules match a method and a path
// regular expression and delay the request, fail it with a status (before or after it reached
// the apiserver), a number of times or from the n-th match on. Runs inside the spec's process.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterInfo } from '../harness/control-plane.js';

export interface ApiFaultRule {
  id?: string;
  /** Regular expression on the HTTP method (e.g. "PATCH|PUT"); default: any. */
  method?: string;
  /** Regular expression on the path (without the query). */
  path: string;
  /** Regular expression on the query string (e.g. "watch=true"); default: any. */
  query?: string;
  /** Matches to let through untouched before the rule acts; default 0. */
  after?: number;
  /** How many times the rule acts, then it is spent; default: unlimited. */
  times?: number;
  action:
    | { type: 'delay'; ms: number }
    /** Answers `status` without forwarding: the write never happens. */
    | { type: 'fail'; status: number; message?: string }
    /** Forwards (the write happens) and answers `status` instead of the real answer. */
    | { type: 'forwardThenFail'; status: number; message?: string };
}

export interface ApiCall {
  seq: number;
  method: string;
  path: string;
  query: string;
  at: number;
  /** When it was sent on to the apiserver (undefined: never). */
  forwardedAt?: number;
  /** The status the client got (undefined while running, 0 if the connection failed or the client left). */
  status?: number;
  rule?: string;
}

interface LiveRule extends ApiFaultRule {
  id: string;
  seen: number;
  acted: number;
}

const insecure = new Agent({ rejectUnauthorized: false, keepAlive: true });

export class ApiFaultProxy {
  readonly #server: Server;
  readonly #target: URL;
  readonly #rules: LiveRule[] = [];
  readonly #calls: ApiCall[] = [];
  #seq = 0;
  #ids = 0;
  readonly url: string;

  /** Sent for requests that carry no credentials (client-go sends no bearer token over plain HTTP). */
  readonly #token: string;

  private constructor(server: Server, target: URL, token: string) {
    this.#server = server;
    this.#target = target;
    this.#token = token;
    const a = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${a.port}`;
  }

  /**
   * Starts a proxy in front of `apiServerUrl` on a free loopback port. `token` is the identity of
   * requests that come without an Authorization header: the Go sidecars' client-go does not send
   * a bearer token over plain HTTP, so one proxy serves one identity.
   */
  static async start(apiServerUrl: string, token: string): Promise<ApiFaultProxy> {
    let self: ApiFaultProxy | undefined;
    const server = createServer((req, res) => void self?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    self = new ApiFaultProxy(server, new URL(apiServerUrl), token);
    return self;
  }

  /** Writes a kubeconfig that reaches the apiserver through this proxy as its identity; returns its path. */
  kubeconfig(info: ClusterInfo, name: string): string {
    const file = join(info.workDir, `kubeconfig-${name}`);
    writeFileSync(file, kubeconfigYaml(this.url, this.#token), { mode: 0o600 });
    return file;
  }

  addRule(rule: ApiFaultRule): string {
    const id = rule.id ?? `rule-${++this.#ids}`;
    new RegExp(rule.path); // fail early on a bad pattern
    this.#rules.push({ ...rule, id, seen: 0, acted: 0 });
    return id;
  }

  removeRule(id: string): void {
    const i = this.#rules.findIndex((r) => r.id === id);
    if (i >= 0) this.#rules.splice(i, 1);
  }

  clearRules(): void {
    this.#rules.length = 0;
  }

  /** How often a rule acted so far. */
  acted(id: string): number {
    return this.#rules.find((r) => r.id === id)?.acted ?? 0;
  }

  calls(filter?: { method?: string; path?: string }): ApiCall[] {
    return this.#calls.filter(
      (c) => (!filter?.method || new RegExp(`^(?:${filter.method})$`).test(c.method)) && (!filter?.path || new RegExp(filter.path).test(c.path)),
    );
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #match(method: string, path: string, query: string): LiveRule | undefined {
    for (const r of this.#rules) {
      if (r.method && !new RegExp(`^(?:${r.method})$`).test(method)) continue;
      if (!new RegExp(r.path).test(path)) continue;
      if (r.query && !new RegExp(r.query).test(query)) continue;
      r.seen++;
      if (r.seen <= (r.after ?? 0)) continue;
      if (r.times !== undefined && r.acted >= r.times) continue;
      r.acted++;
      return r;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    const call: ApiCall = { seq: ++this.#seq, method, path: u.pathname, query: u.search.slice(1), at: Date.now() };
    this.#calls.push(call);
    if (this.#calls.length > 20_000) this.#calls.splice(0, 10_000);
    // The client went away before an answer (a timeout, an aborted request, the process died).
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const rule = this.#match(method, u.pathname, call.query);
    if (rule) call.rule = rule.id;
    const action = rule?.action;
    if (action?.type === 'delay') {
      await new Promise((r) => setTimeout(r, action.ms));
      // A client that gave up (or died) meanwhile: its request goes nowhere, as on a real network.
      if (clientGone || res.destroyed) {
        call.status = 0;
        return;
      }
    }
    if (action?.type === 'fail') {
      req.resume();
      call.status = action.status;
      return status(res, action.status, action.message ?? `injected by the API fault proxy (rule ${rule!.id})`);
    }
    const headers = { ...req.headers, host: this.#target.host };
    if (!headers.authorization) headers.authorization = `Bearer ${this.#token}`;
    let complete = false;
    call.forwardedAt = Date.now();
    const upstream = httpsRequest(
      { protocol: 'https:', hostname: this.#target.hostname, port: this.#target.port, path: req.url, method, headers, agent: insecure },
      (up) => {
        up.on('end', () => (complete = true));
        if (action?.type === 'forwardThenFail') {
          up.resume();
          up.on('end', () => {
            call.status = action.status;
            status(res, action.status, action.message ?? `injected after forwarding by the API fault proxy (rule ${rule!.id})`);
          });
          return;
        }
        call.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      call.status = 0;
      if (!res.headersSent) status(res, 503, `API fault proxy: apiserver unreachable: ${err.message}`);
      else res.destroy();
    });
    // A client that goes away (watch closed) ends the upstream request too.
    if (clientGone) upstream.destroy();
    res.on('close', () => {
      if (!complete) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

const REASONS: Record<number, string> = { 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

function status(res: ServerResponse, code: number, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', code });
  res.writeHead(code, { 'content-type': 'application/json', ...(code === 429 ? { 'retry-after': '1' } : {}) });
  res.end(body);
}

export function kubeconfigYaml(server: string, token: string): string {
  const tls = server.startsWith('https:') ? '    insecure-skip-tls-verify: true\n' : '';
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
${tls}users:
- name: user
  user:
    token: ${token}
contexts:
- name: local
  context:
    cluster: local
    user: user
current-context: local
`;
}
