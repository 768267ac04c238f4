// The start-up every sidecar shares, in the Go sidecars' order: logging → API client → HTTP
// endpoint → CSI connection (probe, driver name, capabilities) → leader election → controllers.
// Shutdown on SIGTERM/SIGINT: stop taking work, drain, release the lease when asked, exit 0.
// Losing the lease or the CSI connection exits 1, as the Go sidecars do.
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { DisposableStore, toDisposable, type Disposable } from '../lifecycle/disposable.js';
import { realClock, type Clock } from '../lifecycle/clock.js';
import { installShutdownHandlers, type ShutdownHandle } from '../lifecycle/shutdown.js';
import { createLogger, type Logger, type LoggingFormat } from '../logging/logger.js';
import { createRegistry } from '../metrics/registry.js';
import { startHttpServer, type HttpServer } from '../http/server.js';
import type { HealthCheck } from '../http/health.js';
import { KubeClientFactory, defaultUserAgent, type KubeClient } from '../kube/client.js';
import { restClientMetrics } from '../kube/metrics.js';
import { InformerFactory } from '../kube/informer-factory.js';
import { CsiConnection, type ControllerCapabilitiesPolicy, type CsiDriverInfo } from '../csi/connection.js';
import { CsiOperationMetrics, registerProcessStartTime } from '../csi/metrics.js';
import { createMigrationTranslator } from '../migration/translator.js';
import { LeaderElector } from '../leaderelection/leader-elector.js';
import { leaseClientFromKube } from '../leaderelection/lease-client-kube.js';
import { leaderElectionMetrics } from '../leaderelection/metrics.js';
import { leaderIdentity, leaseNameFor, leaseNamespace } from '../leaderelection/naming.js';
import { KubeEventRecorder, type EventRecorder } from '../events/recorder.js';
import { apiEventSink } from '../events/sink.js';

export type SidecarKind = 'provisioner' | 'attacher' | 'resizer';

/** The options every sidecar takes from the common flags (names as the flag parser gives them). */
export interface CommonRuntimeOptions {
  kubeconfig: string;
  master?: string;
  csiAddress: string;
  timeoutMs: number;
  leaderElection: boolean;
  leaderElectionNamespace: string;
  leaderElectionLeaseDurationMs: number;
  leaderElectionRenewDeadlineMs: number;
  leaderElectionRetryPeriodMs: number;
  leaderElectionLabels: Record<string, string>;
  kubeApiQps: number;
  kubeApiBurst: number;
  httpEndpoint: string;
  metricsAddress: string;
  metricsPath: string;
  v: number;
  loggingFormat: LoggingFormat;
  /** ReleaseLeaderElectionOnExit. */
  releaseLeaderElectionOnExit: boolean;
  /** --max-grpc-log-length (attacher only). */
  maxGrpcLogLength?: number;
}

/** What a sidecar's controllers get to work with. Everything here is owned by the runtime. */
export interface SidecarContext {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly kube: KubeClient;
  readonly kubeFactory: KubeClientFactory;
  readonly informers: InformerFactory;
  readonly csi: CsiConnection;
  readonly driver: CsiDriverInfo;
  readonly events: EventRecorder;
  readonly http: HttpServer | undefined;
  /** This replica's identity (hostname), for events and leases. */
  readonly identity: string;
  readonly userAgent: string;
}

export interface SidecarSpec<P = undefined> {
  kind: SidecarKind;
  /** Binary name, e.g. csi-provisioner: user agent, logger name. */
  component: string;
  version: string;
  /** Event source component, as the Go sidecar reports it. */
  eventComponent: (driverName: string, identity: string) => string;
  controllerCapabilities: ControllerCapabilitiesPolicy;
  options: CommonRuntimeOptions;
  /** How long in-flight work may take to finish on SIGTERM. */
  shutdownGraceMs?: number;
  /**
   * Start-up decisions that must fail fast, before leader election (e.g. "this driver supports
   * nothing this sidecar does"): a rejection exits 1.
   */
  prepare?(ctx: SidecarContext): Promise<P>;
  /** Starts the controllers; called once this replica may act (after winning the election). */
  start(ctx: SidecarContext, signal: AbortSignal, prepared: P): Promise<Disposable>;
  /** Tests inject this. */
  env?: NodeJS.ProcessEnv;
  /** Called with the exit code once the sidecar is done (the bins: process.exit). */
  exit?: (code: number) => void;
  writeLog?: (line: string) => void;
}

/**
 * Whether SIGTERM releases the leader-election Lease. The Go sidecars gate this behind the alpha
 * ReleaseLeaderElectionOnExit (off); a graceful hand-over is what operators want, so ours release
 * unless the gate is explicitly set to false.
 */
export function releaseLeaseOnExit(o: { featureGates: { enabled(name: string): boolean; isExplicitlySet(name: string): boolean } }): boolean {
  const gate = 'ReleaseLeaderElectionOnExit';
  return o.featureGates.isExplicitlySet(gate) ? o.featureGates.enabled(gate) : true;
}

/**
 * /readyz/shutdown: fails from the moment a drain starts (SIGTERM, SIGINT), so load balancers
 * and rollouts stop counting on this replica while its in-flight calls finish.
 */
export function drainReadinessCheck(stopping: AbortSignal): HealthCheck {
  return {
    name: 'shutdown',
    check() {
      if (stopping.aborted) throw new Error('shutting down: draining in-flight work');
    },
  };
}

/** Runs a sidecar until it stops; resolves with the process exit code. */
export async function runSidecar<P = undefined>(spec: SidecarSpec<P>): Promise<number> {
  const o = spec.options;
  const logger = createLogger({ verbosity: o.v, format: o.loggingFormat, write: spec.writeLog });
  const clock = realClock;
  const root = new DisposableStore();
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  // Exit means exit, as a Go main that returns or calls os.Exit: once shutdown has decided (after
  // the drain and disposal, or at once when the Lease is lost), nothing left open — a watch, a
  // plugin call that ignores cancellation — may keep the process alive or acting. The bins pass
  // process.exit (CommandIO.exit); tests pass their own or none.
  const exit = (code: number) => {
    resolveExit(code);
    spec.exit?.(code);
  };

  let stopControllers: (() => Promise<void>) | undefined;
  const shutdown: ShutdownHandle = installShutdownHandlers({
    graceMs: spec.shutdownGraceMs ?? 30_000,
    root,
    logger,
    exit,
    onShutdown: async () => {
      await stopControllers?.();
    },
  });
  root.add(shutdown);

  try {
    logger.info('Version', { component: spec.component, version: spec.version, node: process.version });
    const registry = createRegistry();
    registerProcessStartTime(registry);
    const userAgent = defaultUserAgent(spec.component, spec.version);
    const env = spec.env ?? process.env;
    const kubeFactory = KubeClientFactory.fromFlags({ kubeconfig: o.kubeconfig || undefined, master: o.master || undefined, env });
    const kube = root.add(
      kubeFactory.create({ qps: o.kubeApiQps, burst: o.kubeApiBurst, userAgent, clock, logger, onRequest: restClientMetrics(registry) }),
    );

    const endpoint = o.httpEndpoint || o.metricsAddress;
    let http: HttpServer | undefined;
    if (endpoint) {
      http = root.add(
        await startHttpServer({
          endpoint,
          flagName: o.httpEndpoint ? 'http-endpoint' : 'metrics-address',
          registry,
          metricsPath: o.metricsPath,
          logger,
          instrumentMetricsHandler: spec.kind === 'provisioner',
        }),
      );
      logger.info('Serving metrics and health checks', { address: http.address, metricsPath: o.metricsPath });
      root.add(http.addReadinessCheck(drainReadinessCheck(shutdown.stopping)));
    }

    const csiMetrics = new CsiOperationMetrics({ registry });
    const csi = root.add(
      new CsiConnection({
        address: o.csiAddress,
        timeoutMs: o.timeoutMs,
        controllerCapabilities: spec.controllerCapabilities,
        logger,
        clock,
        metrics: csiMetrics,
        maxGrpcLogLength: o.maxGrpcLogLength,
      }),
    );
    const driver = await csi.start(shutdown.stopping);
    csiMetrics.setDriverName(driver.name);
    // The CSI replacement of an in-tree plugin: calls carry `migrated`, as in all three Go sidecars.
    if (createMigrationTranslator().isMigratedCsiDriver(driver.name)) csiMetrics.enableMigratedLabel();
    logger.info('CSI driver name', { driver: driver.name });

    const identity = leaderIdentity({ hostname: hostname() });
    const events = root.add(
      new KubeEventRecorder({
        sink: apiEventSink(kube),
        source: { component: spec.eventComponent(driver.name, identity), host: hostname() },
        clock,
        logger,
      }),
    );
    // Streaming lists at start-up, as the Go sidecars (client-go WatchList): docs/adr/0007.
    const informers = root.add(new InformerFactory({ client: kube, clock, logger, watchList: true }));
    const ctx: SidecarContext = { logger, clock, registry, kube, kubeFactory, informers, csi, driver, events, http, identity, userAgent };
    const prepared = (spec.prepare ? await spec.prepare(ctx) : undefined) as P;

    // Controllers run under `running`; stopping it drains them (SIGTERM) or drops them (lease lost).
    const startControllers = async (signal: AbortSignal): Promise<void> => {
      const controllers = await spec.start(ctx, signal, prepared);
      informers.start(signal);
      let stopped: Promise<void> | undefined;
      stopControllers = () => (stopped ??= Promise.resolve(controllers.dispose()).then(() => undefined));
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await stopControllers();
    };

    if (!o.leaderElection) {
      await startControllers(shutdown.stopping);
      return await exited;
    }

    // A separate client (own rate limiter) so a throttled controller cannot starve lease renewal.
    const leaseKube = root.add(kubeFactory.create({ qps: o.kubeApiQps, burst: o.kubeApiBurst, userAgent, clock, logger }));
    const name = leaseNameFor(spec.kind, driver.name);
    const namespace = leaseNamespace({ flag: o.leaderElectionNamespace, env });
    const elector = new LeaderElector({
      client: leaseClientFromKube(leaseKube),
      namespace,
      name,
      identity,
      leaseDurationMs: o.leaderElectionLeaseDurationMs,
      renewDeadlineMs: o.leaderElectionRenewDeadlineMs,
      retryPeriodMs: o.leaderElectionRetryPeriodMs,
      labels: o.leaderElectionLabels,
      releaseOnExit: o.releaseLeaderElectionOnExit,
      clock,
      logger,
      metrics: leaderElectionMetrics(registry),
      onStartedLeading: (signal) => startControllers(signal),
      onStoppedLeading: (info) => {
        if (info.reason === 'lost') {
          logger.error('Stopped leading: the leader-election Lease was lost', info.error, { lease: `${namespace}/${name}` });
          // As Go's FlushAndExit: a replica that lost its Lease must not go on acting, so no drain
          // (in-flight CSI calls are journaled); the log is flushed on the way out.
          exit(1);
        }
      },
    });
    if (o.httpEndpoint && http) root.add(http.addHealthCheck(elector.healthCheck()));
    logger.info('Waiting to become leader', { lease: `${namespace}/${name}`, identity });
    // The elector drains the controllers itself when `stopping` aborts, then releases the lease.
    stopControllers = undefined;
    const electing = elector.run(shutdown.stopping);
    root.add(toDisposable(() => electing.then(() => undefined)));
    return await exited;
  } catch (err) {
    if (shutdown.stopping.aborted) return exited;
    logger.error('Start-up failed', err, { component: spec.component });
    await root.dispose().catch(() => undefined);
    const code = 1;
    exit(code);
    return code;
  }
}
