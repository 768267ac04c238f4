// The fault proxy's control API: small JSON over HTTP on a unix socket (or a loopback port), so
// a test in another process, a shell script (curl --unix-socket) or a chaos tool can change the
// rules while the proxy runs.
//
//   GET    /healthz              "ok"
//   GET    /rules                the rules with their counters
//   POST   /rules                one rule or a list → {"ids": [...]}
//   DELETE /rules                remove every rule
//   DELETE /rules/<id>           remove one rule
//   GET    /calls[?method=M]     call records (oldest first)
//   DELETE /calls                forget the call records
//   POST   /drop                 close every connection now, serve again at once
//   POST   /restart?downMs=N     go away for N ms (socket removed), then serve again
//   POST   /stop                 go away until /start
//   POST   /start                serve again
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Disposable } from '../../lifecycle/disposable.js';
import type { FaultProxy } from './proxy.js';
import { FaultRuleError, parseFaultRule } from './rules.js';

export interface ControlEndpoint {
  /** Absolute unix socket path, or undefined for a TCP listener. */
  socketPath?: string;
  /** Loopback host and port (port 0: any free port). */
  host?: string;
  port?: number;
}

/** `unix:///path`, `/path`, or `127.0.0.1:PORT` / `localhost:PORT` / `[::1]:PORT`. */
export function parseControlEndpoint(text: string): ControlEndpoint {
  if (text.startsWith('unix://')) {
    const p = text.slice('unix://'.length);
    if (!p.startsWith('/')) throw new Error(`invalid control address ${JSON.stringify(text)}: use unix:///absolute/path`);
    return { socketPath: p };
  }
  if (text.startsWith('/')) return { socketPath: text };
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(text);
  if (!m) throw new Error(`invalid control address ${JSON.stringify(text)}: use unix:///path or a loopback host:port (127.0.0.1:PORT); the control API never listens beyond this machine`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid control address ${JSON.stringify(text)}: port out of range`);
  return { host: m[1] === '[::1]' ? '::1' : m[1], port };
}

export interface FaultProxyControlServer extends Disposable {
  /** Where it listens: the socket path, or host:port. */
  readonly address: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new HttpError(413, 'request body over 1 MiB');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

async function route(proxy: FaultProxy, req: http.IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://control');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  if (path === '/healthz' && method === 'GET') return 'ok';
  if (path === '/rules') {
    if (method === 'GET') return proxy.rules.map((r) => r.toJSON());
    if (method === 'DELETE') {
      proxy.clearRules();
      return { removed: 'all' };
    }
    if (method === 'POST') {
      const body = await readJson(req);
      const list = Array.isArray(body) ? body : [body];
      // All rules are checked before any is added, so a bad list changes nothing.
      const rules = list.map((r, i) => {
        try {
          return parseFaultRule(r, Array.isArray(body) ? `rules[${i}]` : 'rule');
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
      });
      try {
        return { ids: rules.map((r) => proxy.addRule(r)) };
      } catch (err) {
        throw new HttpError(409, (err as Error).message);
      }
    }
  }
  const one = /^\/rules\/([^/]+)$/.exec(path);
  if (one && method === 'DELETE') {
    const id = decodeURIComponent(one[1]!);
    if (!proxy.removeRule(id)) throw new HttpError(404, `no rule ${JSON.stringify(id)}`);
    return { removed: id };
  }
  if (path === '/calls') {
    if (method === 'GET') {
      const m = url.searchParams.get('method');
      return m ? proxy.callsTo(m) : proxy.calls;
    }
    if (method === 'DELETE') {
      proxy.clearCalls();
      return { cleared: true };
    }
  }
  if (method === 'POST') {
    switch (path) {
      case '/drop':
        await proxy.dropConnections();
        return { dropped: true };
      case '/restart': {
        const downMs = Number(url.searchParams.get('downMs') ?? '0');
        if (!Number.isInteger(downMs) || downMs < 0) throw new HttpError(400, 'downMs must be a non-negative integer');
        await proxy.restart(downMs);
        return { restarted: true, downMs };
      }
      case '/stop':
        await proxy.stop();
        return { up: false };
      case '/start':
        await proxy.start();
        return { up: true };
      default:
        break;
    }
  }
  throw new HttpError(404, `no such control endpoint: ${method} ${path}`);
}

/** Serves the control API of `proxy` until disposed. */
export async function startFaultProxyControl(proxy: FaultProxy, endpoint: ControlEndpoint): Promise<FaultProxyControlServer> {
  const server = http.createServer((req, res) => {
    route(proxy, req).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.status : err instanceof FaultRuleError ? 400 : 500;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      },
    );
  });
  if (endpoint.socketPath) rmSync(endpoint.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (endpoint.socketPath) server.listen(endpoint.socketPath, resolve);
    else server.listen(endpoint.port ?? 0, endpoint.host ?? '127.0.0.1', resolve);
  });
  const addr = server.address();
  const address = typeof addr === 'string' ? addr : `${(addr as AddressInfo).address}:${(addr as AddressInfo).port}`;
  let closed = false;
  return {
    address,
    dispose: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
