// HTTP to the apiserver on node:http/https, shared by the typed client-node APIs (through an
// HttpLibrary adapter), raw requests and watches. Why not client-node's own fetch path:
//   - it builds a new undici Agent (a new TLS handshake) for every typed request when TLS
//     options are set, and has no rate limit and no default timeout;
//   - a watch needs a streamed body split into JSON lines, an abort that really closes the socket,
//     and the same credentials as every other call.
// Credentials come from a KubeConnection (connection.ts: our own for tokens and certificates,
// client-node's KubeConfig only for exec plugins, auth providers and proxies), and every request
// goes through one place here: token bucket, timeout, User-Agent, metrics hook, and keep-alive
// agents per TLS identity.
// Watches skip the token bucket (as client-go's Request.Watch does): they are long-lived and
// re-opened by the reflector's own backoff, and at --kube-api-qps 5 they would eat the start-up
// burst. Per TLS identity there are two agents: one with a socket cap for ordinary requests (a
// burst of 100 requests reuses a few warm TLS connections instead of opening 100), and one without
// a cap for watches, which hold their socket for minutes and would otherwise starve the capped pool.

import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { Clock } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import { onSignalAbort } from '../lifecycle/abort-fanout.js';
import type { Logger } from '../logging/logger.js';
import type { KubeConnection } from './connection.js';
import { discardLogger } from '../logging/logger.js';
import { KubeApiError, KubeTransportError } from './errors.js';
import type { TokenBucket } from './token-bucket.js';

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequest {
  method: string;
  /** Path below the server URL (e.g. /api/v1/pods), optionally with a query string. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the client's request timeout; 0 disables it. */
  timeoutMs?: number;
  /**
   * 'deferrable': the rate limiter lets reserved requests go first for a while (events; see
   * token-bucket.ts). Default: served in arrival order.
   */
  priority?: 'deferrable';
}

export interface KubeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface KubeBufferResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface KubeStreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The response body; destroy it (or abort the signal) to close the connection. */
  body: Readable;
}

/** One finished request, for metrics (rest_client_requests_total and friends). */
export interface RequestRecord {
  method: string;
  host: string;
  /** HTTP status as text, or '<error>' when no response came (client-go's label value). */
  code: string;
  durationMs: number;
  /** Time spent waiting for the client-side rate limiter. */
  rateLimiterWaitMs: number;
  /** The request was a long-lived stream (watch); durationMs then covers only the response headers. */
  stream: boolean;
}

export interface TransportOptions {
  connection: KubeConnection;
  limiter?: TokenBucket;
  /** Default per-request timeout (ms) for non-streaming requests; 0 disables. */
  requestTimeoutMs?: number;
  userAgent?: string;
  clock?: Clock;
  logger?: Logger;
  onRequest?: (rec: RequestRecord) => void;
  /** Open connections for ordinary (non-watch) requests; more wait for a free one. Default 32. */
  maxSockets?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * Connections for ordinary requests. Measured with scripts/measure-transport-cpu.mjs (600 requests
 * in bursts of 100 over TLS, client CPU medians): 100 connections ~150 ms, 32 ~115 ms, 16 ~100 ms,
 * mostly handshakes. 32 keeps most of the gain while a slow apiserver still gets enough requests
 * in parallel.
 */
export const DEFAULT_MAX_SOCKETS = 32;

type Agent = http.Agent | https.Agent;

/** The TLS settings that make up a client identity; one pair of agents (and secure context) each. */
interface TlsMaterial {
  ca: https.RequestOptions['ca'];
  cert: https.RequestOptions['cert'];
  key: https.RequestOptions['key'];
  pfx: https.RequestOptions['pfx'];
  passphrase: string | undefined;
  rejectUnauthorized: boolean | undefined;
  servername: string | undefined;
}

interface AgentPair {
  /** Capped at maxSockets. */
  requests: Agent;
  /** Uncapped, for watches. */
  streams: Agent;
}

export class KubeTransport {
  readonly server: URL;
  /** host[:port] of the server, the `host` label of the request metrics. */
  readonly host: string;
  readonly #conn: KubeConnection;
  /** Origin and path prefix of the server URL, without a trailing slash. */
  readonly #base: string;
  readonly #limiter: TokenBucket | undefined;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #onRequest: ((rec: RequestRecord) => void) | undefined;
  readonly #maxSockets: number;
  readonly #agents = new Map<string, AgentPair>();
  /** The material last seen and its key: connections hand out the same Buffers until a re-read. */
  #lastTls: { material: TlsMaterial; key: string } | undefined;
  #disposed = false;

  constructor(opts: TransportOptions) {
    this.#conn = opts.connection;
    if (!this.#conn.server) throw new Error('kubeconfig has no current cluster with a server URL');
    this.server = new URL(this.#conn.server);
    this.host = this.server.host;
    this.#base = this.server.origin + this.server.pathname.replace(/\/$/, '');
    this.#limiter = opts.limiter;
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#userAgent = opts.userAgent ?? 'csi-sidecars-ts';
    this.#clock = opts.clock ?? realClock;
    this.#logger = opts.logger ?? discardLogger;
    this.#onRequest = opts.onRequest;
    const max = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;
    if (!(max >= 1)) throw new Error(`maxSockets must be at least 1, got ${max}`);
    this.#maxSockets = Math.floor(max);
  }

  /** The URL a request goes to: server URL (which may carry a path prefix) + path + query. */
  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(this.#base + path);
    if (query) {
      // Set together: every searchParams.set re-serialises the whole URL.
      let params: URLSearchParams | undefined;
      for (const k in query) {
        const v = query[k];
        if (v === undefined) continue;
        params ??= new URLSearchParams(url.search);
        params.set(k, String(v));
      }
      if (params) url.search = params.toString();
    }
    return url;
  }

  /** A buffered request. Non-2xx answers become KubeApiError; no answer is a KubeTransportError. */
  async request(req: KubeRequest): Promise<KubeResponse> {
    const url = this.url(req.path, req.query);
    const res = await this.#send(url, req, false);
    const body = res.buffer.toString('utf8');
    if (res.status < 200 || res.status > 299) throw apiError(req.method, res.status, body, res.headers, url);
    return { status: res.status, headers: res.headers, body };
  }

  /** A buffered request; the answer's bytes (for parsers that avoid one big string). Non-2xx throws. */
  async requestBuffer(req: KubeRequest): Promise<KubeBufferResponse> {
    const url = this.url(req.path, req.query);
    const res = await this.#send(url, req, false);
    if (res.status < 200 || res.status > 299) throw apiError(req.method, res.status, res.buffer.toString('utf8'), res.headers, url);
    return { status: res.status, headers: res.headers, body: res.buffer };
  }

  /** A buffered request whose answer is parsed as JSON (undefined for an empty body). */
  async requestJson<T = unknown>(req: KubeRequest): Promise<T> {
    const res = await this.request(req);
    if (res.body === '') return undefined as T;
    try {
      return JSON.parse(res.body) as T;
    } catch (err) {
      throw new KubeTransportError(`${req.method} ${req.path}: response is not JSON: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Opens a streaming request (a watch). Resolves when the response headers arrive; the request
   * timeout covers only that part. Non-2xx answers are read and thrown as KubeApiError.
   */
  async stream(req: KubeRequest): Promise<KubeStreamResponse> {
    const url = this.url(req.path, req.query);
    const res = await this.#send(url, req, true);
    if (res.status < 200 || res.status > 299) {
      const body = await readStream(res.stream).catch(() => '');
      throw apiError(req.method, res.status, body, res.headers, url);
    }
    return { status: res.status, headers: res.headers, body: res.stream };
  }

  /** Sends a request to an absolute URL (the typed client-node APIs' adapter builds its own). */
  async requestUrl(url: URL, req: Omit<KubeRequest, 'path' | 'query'>): Promise<KubeResponse> {
    const res = await this.#send(url, { ...req, path: url.pathname }, false);
    return { status: res.status, headers: res.headers, body: res.buffer.toString('utf8') };
  }

  /** Closes pooled connections. */
  dispose(): void {
    this.#disposed = true;
    for (const pair of this.#agents.values()) {
      pair.requests.destroy();
      pair.streams.destroy();
    }
    this.#agents.clear();
    this.#lastTls = undefined;
  }

  #send(url: URL, req: KubeRequest, stream: true): Promise<StreamedResult>;
  #send(url: URL, req: KubeRequest, stream: false): Promise<BufferedResult>;
  async #send(url: URL, req: KubeRequest, stream: boolean): Promise<StreamedResult | BufferedResult> {
    if (this.#disposed) throw new KubeTransportError(`${req.method} ${url.pathname}: the Kubernetes client was disposed`);
    const started = this.#clock.now();
    let waited = 0;
    // Watches are not rate limited (see the header).
    if (this.#limiter && !stream) {
      const deferrable = req.priority === 'deferrable';
      waited = await (deferrable ? this.#limiter.acquireDeferrable(req.signal) : this.#limiter.acquire(req.signal));
      if (waited > 50) {
        // client-go's wording, so people grepping for throttling find it.
        // A deferred event waited on purpose: not worth a line at the default verbosity.
        const log = waited > 1000 && !deferrable ? this.#logger : this.#logger.v(3);
        log.info('Waited before sending request', { delay: `${waited}ms`, reason: 'client-side throttling, not priority and fairness', verb: req.method, URL: url.toString() });
      }
    }
    const record = (code: string) => {
      this.#onRequest?.({ method: req.method, host: this.host, code, durationMs: this.#clock.now() - started, rateLimiterWaitMs: waited, stream });
    };
    let prepared: Prepared;
    try {
      prepared = await this.#prepare(stream);
    } catch (err) {
      record('<error>');
      throw new KubeTransportError(`${req.method} ${url.toString()}: cannot apply kubeconfig credentials: ${(err as Error).message}`, { cause: err });
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.#userAgent,
      ...lowerMerge(prepared.headers),
    };
    // A text body goes to http as a string: it then writes headers and body in one write()
    // instead of a writev of two chunks, and makes no Buffer copy of the body.
    let payload: Buffer | string | undefined;
    if (req.body !== undefined) {
      payload = Buffer.isBuffer(req.body) ? req.body : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length);
    }
    for (const [k, v] of Object.entries(req.headers ?? {})) setHeader(headers, k, v);

    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    return new Promise<StreamedResult | BufferedResult>((resolvePromise, rejectPromise) => {
      // The listeners below stay reachable from a keep-alive socket until its next request; they
      // reach the promise only through `pending`, dropped once settled, so a finished response
      // body is not kept alive by an idle connection.
      let pending: { resolve: typeof resolvePromise; reject: typeof rejectPromise } | undefined = { resolve: resolvePromise, reject: rejectPromise };
      const resolve = (v: StreamedResult | BufferedResult) => {
        const p = pending;
        pending = undefined;
        p?.resolve(v);
      };
      const reject = (err: unknown) => {
        const p = pending;
        pending = undefined;
        p?.reject(err);
      };
      const mod = url.protocol === 'https:' ? https : http;
      let settled = false;
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      let unlisten: (() => void) | undefined;
      const cleanup = () => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        timer = undefined;
        unlisten?.();
        unlisten = undefined;
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        record('<error>');
        reject(err);
      };
      const onAbort = () => {
        const reason: unknown = req.signal?.reason;
        r.destroy();
        fail(reason ?? new KubeTransportError(`${req.method} ${url.toString()}: aborted`));
      };
      if (req.signal?.aborted) {
        fail(req.signal.reason ?? new KubeTransportError(`${req.method} ${url.toString()}: aborted`));
        return;
      }
      const r = mod.request(url, { method: req.method, headers, agent: prepared.agent, auth: prepared.auth });
      // The error listener goes first: destroy() below emits 'error' on the next tick.
      r.on('error', (err) => fail(err instanceof KubeTransportError ? err : new KubeTransportError(`${req.method} ${url.toString()}: ${err.message}`, { cause: err })));
      if (timeoutMs > 0) {
        timer = this.#clock.setTimeout(() => {
          const err = new KubeTransportError(`${req.method} ${url.toString()}: no response within ${timeoutMs}ms`, { timedOut: true });
          fail(err);
          r.destroy(err);
        }, timeoutMs);
      }
      if (req.signal) unlisten = onSignalAbort(req.signal, onAbort);
      r.on('response', (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        const status = res.statusCode ?? 0;
        if (stream) {
          settled = true;
          cleanup();
          record(String(status));
          // Abort after the headers closes the stream; the caller sees it end with the reason.
          if (req.signal) {
            const signal = req.signal;
            const unlistenLate = onSignalAbort(signal, () => res.destroy(signal.reason instanceof Error ? signal.reason : undefined));
            res.once('close', unlistenLate);
          }
          // Errors reach the reader through iteration; this listener only keeps an error that
          // happens before reading starts from becoming an uncaught exception.
          res.on('error', () => undefined);
          resolve({ status, headers: res.headers, stream: res });
          return;
        }
        // Buffered: the timeout and abort keep covering the body download.
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(new KubeTransportError(`${req.method} ${url.toString()}: reading the response: ${err.message}`, { cause: err })));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          record(String(status));
          // One chunk (most answers) is the body as is: no copy.
          const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          // A keep-alive socket keeps this response (and so this closure) reachable until its next
          // request: let go of the chunks now, or each idle connection holds its last body twice.
          chunks.length = 0;
          resolve({ status, headers: res.headers, buffer });
        });
      });
      r.end(payload);
    });
  }

  async #prepare(stream: boolean): Promise<Prepared> {
    const opts: https.RequestOptions = { headers: {} };
    await this.#conn.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    // A proxy needs client-node's proxy agent; otherwise use our keep-alive agent.
    if (this.#conn.proxyUrl) return { headers, agent: opts.agent as Agent, auth: opts.auth ?? undefined };
    const pair = this.#agentsFor(opts);
    return { headers, agent: stream ? pair.streams : pair.requests, auth: opts.auth ?? undefined };
  }

  #agentsFor(opts: https.RequestOptions): AgentPair {
    const material: TlsMaterial = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      rejectUnauthorized: opts.rejectUnauthorized,
      servername: opts.servername,
    };
    // The same objects as last time: the same identity, without hashing every request. Otherwise
    // key by content, so a re-read of unchanged files keeps the pool and rotated ones get new agents.
    let key: string;
    const last = this.#lastTls;
    if (last && sameMaterial(last.material, material)) key = last.key;
    else {
      key = this.#materialKey(material);
      this.#lastTls = { material, key };
    }
    let pair = this.#agents.get(key);
    if (!pair) {
      pair = this.#newAgents(material);
      // Old identities keep their open watches until those end; new requests use the new agents.
      this.#agents.set(key, pair);
    }
    return pair;
  }

  #materialKey(material: TlsMaterial): string {
    const h = crypto.createHash('sha256');
    h.update(this.server.protocol);
    for (const [k, v] of Object.entries(material)) {
      h.update(`${k}=`);
      if (v !== undefined) h.update(Buffer.isBuffer(v) ? v : JSON.stringify(v) ?? '');
      h.update(';');
    }
    return h.digest('hex');
  }

  #newAgents(m: TlsMaterial): AgentPair {
    const common = { keepAlive: true, keepAliveMsecs: 30_000 };
    if (this.server.protocol !== 'https:') {
      return { requests: new http.Agent({ ...common, maxSockets: this.#maxSockets }), streams: new http.Agent(common) };
    }
    // One secure context for every connection of this identity: given ca/cert/key instead, each new
    // connection would parse the CA bundle and the key again.
    const secureContext = tls.createSecureContext(defined({ ca: m.ca, cert: m.cert, key: m.key, pfx: m.pfx, passphrase: m.passphrase }));
    const tlsOpts = { secureContext, ...defined({ rejectUnauthorized: m.rejectUnauthorized, servername: m.servername }) };
    return {
      requests: new https.Agent({ ...common, ...tlsOpts, maxSockets: this.#maxSockets }),
      streams: new https.Agent({ ...common, ...tlsOpts }),
    };
  }
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return (
    a.ca === b.ca &&
    a.cert === b.cert &&
    a.key === b.key &&
    a.pfx === b.pfx &&
    a.passphrase === b.passphrase &&
    a.rejectUnauthorized === b.rejectUnauthorized &&
    a.servername === b.servername
  );
}

/** The object without its undefined fields (TLS options treat a present undefined differently from absent). */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface Prepared {
  headers: Record<string, string>;
  agent: Agent;
  auth: string | undefined;
}

function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) delete headers[k];
  headers[name] = value;
}

function lowerMerge(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) setHeader(out, k, v);
  return out;
}

interface StreamedResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  stream: http.IncomingMessage;
}

interface BufferedResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  buffer: Buffer;
}

async function readStream(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function apiError(method: string, status: number, body: string, headers: http.IncomingHttpHeaders, url: URL): KubeApiError {
  const ra = headers['retry-after'];
  return KubeApiError.fromResponse(status, body, `${method} ${url.pathname}${url.search}`, Array.isArray(ra) ? ra[0] : ra);
}
