// The diagnostics endpoint (--http-endpoint): Prometheus metrics at --metrics-path, /healthz,
// named health checks under /healthz/<name> (leader-election, as csi-lib-utils registers it) and
// readiness under /readyz. Answers follow Go's net/http where the Go sidecars serve the same path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import { toDisposable, type Disposable } from '../lifecycle/disposable.js';
import { discardLogger, type Logger } from '../logging/logger.js';
import { parseListenAddress } from './address.js';
import { runCheck, validateCheckName, type HealthCheck } from './health.js';

export const DEFAULT_METRICS_PATH = '/metrics';

export interface HttpServerOptions {
  /** --http-endpoint value, e.g. ":8080" or "127.0.0.1:0". */
  endpoint: string;
  /** Flag named in errors; default --http-endpoint (or --metrics-address for the deprecated alias). */
  flagName?: string;
  /** Served at metricsPath when set. */
  registry?: Registry;
  /** --metrics-path; default /metrics. */
  metricsPath?: string;
  /** Also count scrapes in promhttp_metric_handler_requests_{total,in_flight}, as csi-provisioner does. */
  instrumentMetricsHandler?: boolean;
  healthChecks?: HealthCheck[];
  readinessChecks?: HealthCheck[];
  /** A check that has not answered after this long fails; default 10 s. */
  checkTimeoutMs?: number;
  /** On dispose, open connections get this long to finish before they are cut; default 5 s. */
  closeGraceMs?: number;
  logger?: Logger;
}

export interface HttpServer extends Disposable {
  /** The bound address (the real port when the endpoint asked for port 0). */
  readonly address: { host: string; port: number };
  /** Serves `check` at /healthz/<name>; dispose the result to remove it. */
  addHealthCheck(check: HealthCheck): Disposable;
  /** Adds `check` to /readyz (and /readyz/<name>); dispose the result to remove it. */
  addReadinessCheck(check: HealthCheck): Disposable;
  /** Stops accepting connections, lets open requests finish within the grace period, then closes. */
  dispose(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const flagName = opts.flagName ?? '--http-endpoint';
  const listen = parseListenAddress(opts.endpoint, flagName);
  const metricsPath = opts.metricsPath ?? DEFAULT_METRICS_PATH;
  if (!metricsPath.startsWith('/')) throw new Error(`invalid --metrics-path ${JSON.stringify(metricsPath)}: must start with "/"`);
  const log = (opts.logger ?? discardLogger).withName('http');
  const checkTimeoutMs = opts.checkTimeoutMs ?? 10_000;
  const health = new CheckSet('health');
  const ready = new CheckSet('readiness');
  for (const c of opts.healthChecks ?? []) health.add(c);
  for (const c of opts.readinessChecks ?? []) ready.add(c);
  const scrapes = opts.registry && opts.instrumentMetricsHandler ? scrapeMetrics(opts.registry) : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const verbose = new URL(req.url ?? '/', 'http://localhost').searchParams.has('verbose');
    const known = (opts.registry && path === metricsPath) || path === '/healthz' || path === '/readyz' || health.servesPath(path, '/healthz/') || ready.servesPath(path, '/readyz/');
    if (!known) return text(res, 404, '404 page not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return text(res, 405, 'method not allowed\n');
    }
    if (opts.registry && path === metricsPath) return serveMetrics(opts.registry, res, scrapes);
    if (path === '/healthz') return text(res, 200, 'ok');
    if (path.startsWith('/healthz/')) {
      const outcome = await runCheck(health.get(path.slice('/healthz/'.length))!, checkTimeoutMs);
      // The exact answer of csi-lib-utils' /healthz/leader-election handler.
      return outcome.ok ? text(res, 200, 'ok') : text(res, 500, `internal server error: ${outcome.message}\n`);
    }
    const checks = path === '/readyz' ? ready.all() : [ready.get(path.slice('/readyz/'.length))!];
    const outcomes = await Promise.all(checks.map((c) => runCheck(c, checkTimeoutMs)));
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length === 0 && !verbose) return text(res, 200, 'ok');
    // kube-apiserver's readyz format: one line per check, then a verdict.
    const lines = outcomes.map((o) => (o.ok ? `[+]${o.name} ok` : `[-]${o.name} failed: ${o.message}`));
    lines.push(failed.length === 0 ? 'readyz check passed' : `readyz check failed: ${failed.map((o) => o.name).join(', ')}`);
    return text(res, failed.length === 0 ? 200 : 503, `${lines.join('\n')}\n`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('HTTP handler failed', err, { path: req.url });
      if (!res.headersSent) text(res, 500, 'internal server error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot serve ${flagName} ${JSON.stringify(opts.endpoint)}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // After startup an error event must not crash the process.
  server.on('error', (err) => log.error('HTTP server error', err));
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  log.info('Serving diagnostics', { address: `${address.host}:${address.port}`, metricsPath: opts.registry ? metricsPath : undefined });

  let closing: Promise<void> | undefined;
  return {
    address,
    addHealthCheck: (check) => health.add(check),
    addReadinessCheck: (check) => ready.add(check),
    dispose() {
      closing ??= closeGracefully(server, opts.closeGraceMs ?? 5000);
      return closing;
    },
  };
}

class CheckSet {
  readonly #checks = new Map<string, HealthCheck>();

  constructor(private readonly kind: string) {}

  add(check: HealthCheck): Disposable {
    validateCheckName(check.name);
    if (this.#checks.has(check.name)) throw new Error(`${this.kind} check ${JSON.stringify(check.name)} is already registered`);
    this.#checks.set(check.name, check);
    return toDisposable(() => {
      if (this.#checks.get(check.name) === check) this.#checks.delete(check.name);
    });
  }

  get(name: string): HealthCheck | undefined {
    return this.#checks.get(name);
  }

  all(): HealthCheck[] {
    return [...this.#checks.values()];
  }

  servesPath(path: string, prefix: string): boolean {
    return path.startsWith(prefix) && this.#checks.has(path.slice(prefix.length));
  }
}

interface ScrapeMetrics {
  total: Counter<'code'>;
  inFlight: Gauge;
}

/** promhttp.InstrumentMetricHandler's two metrics (created once per registry). */
function scrapeMetrics(registry: Registry): ScrapeMetrics {
  const existingTotal = registry.getSingleMetric('promhttp_metric_handler_requests_total') as Counter<'code'> | undefined;
  const existingInFlight = registry.getSingleMetric('promhttp_metric_handler_requests_in_flight') as Gauge | undefined;
  if (existingTotal && existingInFlight) return { total: existingTotal, inFlight: existingInFlight };
  const total = new Counter({
    name: 'promhttp_metric_handler_requests_total',
    help: 'Total number of scrapes by HTTP status code.',
    labelNames: ['code'],
    registers: [registry],
  });
  for (const code of ['200', '500', '503']) total.inc({ code }, 0);
  const inFlight = new Gauge({
    name: 'promhttp_metric_handler_requests_in_flight',
    help: 'Current number of scrapes being served.',
    registers: [registry],
  });
  return { total, inFlight };
}

async function serveMetrics(registry: Registry, res: ServerResponse, scrapes: ScrapeMetrics | undefined): Promise<void> {
  scrapes?.inFlight.inc();
  let code = 200;
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType });
    res.end(body);
  } catch (err) {
    code = 500;
    text(res, 500, `An error has occurred while serving metrics:\n\n${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    scrapes?.inFlight.dec();
    scrapes?.total.inc({ code: String(code) });
  }
}

function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive connections are closed by close(); busy ones get the grace period.
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  timer.unref();
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
