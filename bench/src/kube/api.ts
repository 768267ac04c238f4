// The bench's own small API client (node:https, bearer token, JSON), deliberately independent of
// the sidecars' client under test. Requests are unlimited; callers bound their concurrency.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    body: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
  /** performance.now() when the event line arrived. */
  at: number;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

export interface KubeObject {
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface ApiClientOptions {
  server: string;
  token: string;
  userAgent: string;
  maxSockets?: number;
}

export class ApiClient {
  readonly #server: URL;
  readonly #token: string;
  readonly #userAgent: string;
  // The API server's certificate is self-signed for this run only (as in the harness kubeconfig).
  readonly #agent: Agent;
  readonly #watchAgent = new Agent({ rejectUnauthorized: false, keepAlive: false });

  constructor(opts: ApiClientOptions) {
    this.#server = new URL(opts.server);
    this.#token = opts.token;
    this.#userAgent = opts.userAgent;
    this.#agent = new Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  }

  dispose(): void {
    this.#agent.destroy();
    this.#watchAgent.destroy();
  }

  #open(method: string, path: string, agent: Agent, body: string | undefined, contentType: string, timeoutMs: number): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: this.#server.hostname,
          port: this.#server.port,
          method,
          path,
          agent,
          timeout: timeoutMs,
          headers: {
            authorization: `Bearer ${this.#token}`,
            'user-agent': this.#userAgent,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        resolve,
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async request<T = KubeObject>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await this.#open(method, path, this.#agent, payload, contentType, 60_000);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new ApiError(status, method, path, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  /** DELETE; a missing object is not an error. */
  async remove(path: string, query = ''): Promise<void> {
    try {
      await this.request('DELETE', `${path}${query}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }

  /** Every item of a collection (paged), and the list's resourceVersion to watch from. */
  async listAll<T = KubeObject>(path: string, query = ''): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont = '';
    let resourceVersion = '';
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.get<{ items: T[]; metadata: { continue?: string; resourceVersion: string } }>(
        `${path}${sep}limit=500${query}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      items.push(...page.items);
      cont = page.metadata.continue ?? '';
      resourceVersion = page.metadata.resourceVersion;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Watches a collection from a resourceVersion until the signal aborts, reconnecting from the last
   * seen version when the server ends the stream. Events arrive in order through onEvent.
   */
  async watch<T extends KubeObject>(path: string, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    let rv = resourceVersion;
    while (!signal.aborted) {
      const sep = path.includes('?') ? '&' : '?';
      const url = `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=3600`;
      let res: IncomingMessage;
      try {
        res = await this.#open('GET', url, this.#watchAgent, undefined, '', 0);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        throw new ApiError(res.statusCode ?? 0, 'WATCH', path, Buffer.concat(chunks).toString('utf8'));
      }
      const onAbort = () => res.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      let buf = '';
      try {
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: WatchEvent<T>['type']; object: T };
            if (ev.type === 'ERROR') {
              const status = ev.object as unknown as { code?: number; message?: string };
              throw new ApiError(status.code ?? 0, 'WATCH', path, status.message ?? 'watch error');
            }
            const v = ev.object.metadata?.resourceVersion;
            if (v) rv = v;
            onEvent({ type: ev.type, object: ev.object, at: performance.now() });
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }
}

/** Runs fn over items with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError !== undefined) throw firstError;
  return results;
}

/** Retries a call on 409 conflicts and transient network errors (bench set-up only). */
export async function withRetry<T>(what: string, fn: () => Promise<T>, attempts = 5): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      const retriable = !(err instanceof ApiError) || err.status === 409 || err.status === 429 || err.status >= 500;
      if (!retriable) throw err;
      await new Promise((r) => setTimeout(r, 100 * (i + 1)));
    }
  }
  throw new Error(`${what}: still failing after ${attempts} attempts: ${(last as Error).message}`);
}
