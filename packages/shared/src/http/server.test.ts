import { describe, expect, it } from '@jest/globals';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { startHttpServer, type HttpServer, type HttpServerOptions } from './server.js';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function get(server: HttpServer, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.address.port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function withServer(opts: Omit<HttpServerOptions, 'endpoint'>, fn: (s: HttpServer) => Promise<void>): Promise<void> {
  const server = await startHttpServer({ endpoint: '127.0.0.1:0', ...opts });
  try {
    await fn(server);
  } finally {
    await server.dispose();
  }
}

function registryWithCounter(): Registry {
  const registry = new Registry();
  new Counter({ name: 'csi_demo_total', help: 'demo', registers: [registry] }).inc(3);
  return registry;
}

describe('startHttpServer', () => {
  it('serves metrics from the injected registry with its content type', async () => {
    const registry = registryWithCounter();
    await withServer({ registry }, async (s) => {
      expect(s.address.port).toBeGreaterThan(0);
      const r = await get(s, '/metrics');
      expect(r.status).toBe(200);
      expect(r.type).toBe(registry.contentType);
      expect(r.body).toContain('csi_demo_total 3');
      const head = await get(s, '/metrics', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
    });
  });

  it('honours --metrics-path and answers 404 elsewhere, like Go\'s ServeMux', async () => {
    await withServer({ registry: registryWithCounter(), metricsPath: '/custom' }, async (s) => {
      expect((await get(s, '/custom?x=1')).body).toContain('csi_demo_total 3');
      expect(await get(s, '/metrics')).toMatchObject({ status: 404, body: '404 page not found\n' });
      expect((await get(s, '/nope')).status).toBe(404);
      const post = await get(s, '/custom', 'POST');
      expect(post.status).toBe(405);
    });
    await expect(startHttpServer({ endpoint: '127.0.0.1:0', metricsPath: 'metrics' })).rejects.toThrow(/--metrics-path "metrics": must start with "\/"/);
  });

  it('does not serve metrics without a registry', async () => {
    await withServer({}, async (s) => {
      expect((await get(s, '/metrics')).status).toBe(404);
    });
  });

  it('/healthz is ok; /healthz/leader-election reports the check like csi-lib-utils', async () => {
    let healthy = true;
    await withServer({}, async (s) => {
      expect(await get(s, '/healthz')).toMatchObject({ status: 200, body: 'ok' });
      expect((await get(s, '/healthz/leader-election')).status).toBe(404);
      const reg = s.addHealthCheck({
        name: 'leader-election',
        check: () => {
          if (!healthy) throw new Error('failed election to renew leadership on lease ns/l');
        },
      });
      expect(await get(s, '/healthz/leader-election')).toMatchObject({ status: 200, body: 'ok' });
      healthy = false;
      expect(await get(s, '/healthz/leader-election')).toMatchObject({
        status: 500,
        body: 'internal server error: failed election to renew leadership on lease ns/l\n',
      });
      expect(() => s.addHealthCheck({ name: 'leader-election', check: () => undefined })).toThrow(/already registered/);
      await reg.dispose();
      expect((await get(s, '/healthz/leader-election')).status).toBe(404);
    });
  });

  it('/readyz names the failing check, and supports single checks and ?verbose', async () => {
    let probeError: string | undefined = 'Probe: driver not ready';
    await withServer(
      {
        readinessChecks: [
          { name: 'informers-synced', check: () => undefined },
          {
            name: 'csi-probe',
            check: async () => {
              if (probeError) throw new Error(probeError);
            },
          },
        ],
      },
      async (s) => {
        const failing = await get(s, '/readyz');
        expect(failing.status).toBe(503);
        expect(failing.body).toBe('[+]informers-synced ok\n[-]csi-probe failed: Probe: driver not ready\nreadyz check failed: csi-probe\n');
        expect((await get(s, '/readyz/informers-synced')).status).toBe(200);
        expect((await get(s, '/readyz/csi-probe')).status).toBe(503);
        probeError = undefined;
        expect(await get(s, '/readyz')).toMatchObject({ status: 200, body: 'ok' });
        expect((await get(s, '/readyz?verbose')).body).toBe('[+]informers-synced ok\n[+]csi-probe ok\nreadyz check passed\n');
      },
    );
  });

  it('fails a check that hangs past the timeout', async () => {
    await withServer(
      { checkTimeoutMs: 50, readinessChecks: [{ name: 'stuck', check: () => new Promise<void>(() => undefined) }] },
      async (s) => {
        const r = await get(s, '/readyz');
        expect(r.status).toBe(503);
        expect(r.body).toContain('[-]stuck failed: check did not finish within 50 ms');
      },
    );
  });

  it('answers 500 when gathering metrics fails', async () => {
    const registry = new Registry();
    new Counter({
      name: 'broken_total',
      help: 'h',
      registers: [registry],
      collect() {
        throw new Error('collector exploded');
      },
    });
    await withServer({ registry, instrumentMetricsHandler: true }, async (s) => {
      const r = await get(s, '/metrics');
      expect(r.status).toBe(500);
      expect(r.body).toContain('collector exploded');
    });
  });

  it('counts scrapes in promhttp_metric_handler_requests_total when asked', async () => {
    const registry = registryWithCounter();
    await withServer({ registry, instrumentMetricsHandler: true }, async (s) => {
      const first = await get(s, '/metrics');
      expect(first.body).toContain('promhttp_metric_handler_requests_total{code="200"} 0');
      expect(first.body).toContain('promhttp_metric_handler_requests_in_flight 1');
      const second = await get(s, '/metrics');
      expect(second.body).toContain('promhttp_metric_handler_requests_total{code="200"} 1');
    });
  });

  it('reports a port that is taken, naming the flag', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startHttpServer({ endpoint: `127.0.0.1:${port}` })).rejects.toThrow(
        new RegExp(`^cannot serve --http-endpoint "127.0.0.1:${port}": .*EADDRINUSE`),
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('rejects a bad address before listening', async () => {
    await expect(startHttpServer({ endpoint: 'nonsense' })).rejects.toThrow('invalid --http-endpoint "nonsense": missing port');
  });

  it('dispose lets a running request finish, then cuts connections left after the grace period', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const checkRunning = new Promise<void>((r) => (arrived = r));
    const server = await startHttpServer({
      endpoint: '127.0.0.1:0',
      closeGraceMs: 60_000,
      readinessChecks: [
        {
          name: 'slow',
          check: () => {
            arrived();
            return gate;
          },
        },
      ],
    });
    const inFlight = get(server, '/readyz');
    await checkRunning;
    let disposed = false;
    const closing = server.dispose().then(() => (disposed = true));
    await new Promise((r) => setImmediate(r));
    expect(disposed).toBe(false); // cannot close while the request is being answered
    release();
    expect((await inFlight).status).toBe(200);
    await closing;
    await expect(get(server, '/healthz')).rejects.toThrow(/ECONNREFUSED/);

    // A request that never ends is cut after the grace period.
    let stuckArrived!: () => void;
    const stuckRunning = new Promise<void>((r) => (stuckArrived = r));
    const stuck = await startHttpServer({
      endpoint: '127.0.0.1:0',
      closeGraceMs: 100,
      checkTimeoutMs: 60_000,
      readinessChecks: [
        {
          name: 'forever',
          check: () => {
            stuckArrived();
            return new Promise<void>(() => undefined);
          },
        },
      ],
    });
    const cut = get(stuck, '/readyz').then(
      () => 'answered',
      () => 'cut',
    );
    await stuckRunning;
    await stuck.dispose();
    expect(await cut).toBe('cut');
  });
});
