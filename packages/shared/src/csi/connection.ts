// The sidecar's connection to its CSI driver, as an explicit state machine:
//
//   new → waiting-for-socket → connecting → probing → fetching-info → ready
//                (any of these) → failed            ready/probing/... → lost
//   (any) → closed
//
// start() waits for the socket, connects (reconnect backoff capped at 1 s, no idle disconnects),
// calls Probe every second until the driver is ready, then reads and caches the driver name and
// its plugin and controller capabilities. Once connected, any departure of the channel from
// READY is a lost connection: onConnectionLost runs once (by default: exit 1, as in Go).
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import { parseCsiAddress } from './address.js';
import type { CsiAddress } from './address.js';
import { createServiceClient } from './clients.js';
import type { ControllerClient, GroupControllerClient, IdentityClient, NodeClient } from './clients.js';
import { exitOnConnectionLoss } from './connection-loss.js';
import type { ConnectionLostHandler } from './connection-loss.js';
import { CsiCallError, GrpcCode } from './errors.js';
import type { CsiOperationMetrics } from './metrics.js';
import { csiSchema } from './schema.js';
import type { CsiSchema } from './schema.js';
import { SocketWaitTimeoutError, waitForSocket } from './socket-wait.js';
import type {
  ControllerCapabilityName,
  CsiPluginCapability,
  PluginServiceCapabilityName,
  VolumeExpansionName,
} from './types.js';
import { CsiUnaryCaller } from './unary-caller.js';

export type CsiConnectionState =
  | 'new'
  | 'waiting-for-socket'
  | 'connecting'
  | 'probing'
  | 'fetching-info'
  | 'ready'
  | 'lost'
  | 'failed'
  | 'closed';

const TRANSITIONS: Readonly<Record<CsiConnectionState, readonly CsiConnectionState[]>> = {
  new: ['waiting-for-socket', 'failed', 'closed'],
  'waiting-for-socket': ['connecting', 'failed', 'closed'],
  connecting: ['probing', 'lost', 'failed', 'closed'],
  probing: ['fetching-info', 'lost', 'failed', 'closed'],
  'fetching-info': ['ready', 'lost', 'failed', 'closed'],
  ready: ['lost', 'closed'],
  lost: ['closed'],
  failed: ['closed'],
  closed: [],
};

/** How often "Still connecting" is logged while waiting (as csi-lib-utils does). */
const STILL_CONNECTING_INTERVAL_MS = 10_000;
/** grpc-js cannot disable its idle timeout; this is its largest value (~24.8 days). */
const NEVER_IDLE_MS = 2 ** 31 - 1;

type GrpcChannel = ReturnType<grpc.Client['getChannel']>;

export type ControllerCapabilitiesPolicy = 'always' | 'if-controller-service';

export interface CsiConnectionOptions {
  /** --csi-address: an absolute socket path or unix:///absolute/path. */
  address: string;
  /** Deadline of every CSI call, including each Probe (--timeout). Default 10 s. */
  timeoutMs?: number;
  /** How long to wait for the socket and the first connection (Go: 30 s). */
  connectTimeoutMs?: number;
  /** Pause between Probe calls while the driver is not ready. Default 1 s. */
  probeIntervalMs?: number;
  /** Give up probing after this long; default: probe until ready (or aborted), as Go does. */
  probeTimeoutMs?: number;
  /** How often to look for the socket file. Default 100 ms. */
  socketPollIntervalMs?: number;
  /**
   * Whether ControllerGetCapabilities is always called (csi-provisioner) or only when the driver
   * advertises CONTROLLER_SERVICE (csi-attacher, csi-resizer). Default 'always'.
   */
  controllerCapabilities?: ControllerCapabilitiesPolicy;
  /** Called once when an established connection is lost. Default: exitOnConnectionLoss. */
  onConnectionLost?: ConnectionLostHandler;
  onStateChange?: (state: CsiConnectionState, previous: CsiConnectionState) => void;
  logger?: Logger;
  clock?: Clock;
  metrics?: CsiOperationMetrics;
  /** --max-grpc-log-length (attacher); <= 0: no cap. */
  maxGrpcLogLength?: number;
  schema?: CsiSchema;
  /** Extra grpc-js channel options (tests). */
  channelOptions?: grpc.ChannelOptions;
}

export interface PluginCapabilities {
  readonly services: ReadonlySet<PluginServiceCapabilityName>;
  readonly volumeExpansion: ReadonlySet<VolumeExpansionName>;
  /** As the driver sent them. */
  readonly raw: readonly CsiPluginCapability[];
}

export interface CsiDriverInfo {
  readonly name: string;
  readonly vendorVersion: string;
  readonly manifest: Readonly<Record<string, string>>;
  readonly pluginCapabilities: PluginCapabilities;
  readonly controllerCapabilities: ReadonlySet<ControllerCapabilityName>;
}

interface ServiceClients {
  identity: IdentityClient;
  controller: ControllerClient;
  node: NodeClient;
  groupController: GroupControllerClient;
}

/** start() could not bring the connection up. */
export class CsiConnectError extends Error {
  override readonly name = 'CsiConnectError';
}

export class CsiConnection implements Disposable {
  readonly address: CsiAddress;
  readonly #opts: CsiConnectionOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #schema: CsiSchema;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #closing = new AbortController();
  #state: CsiConnectionState = 'new';
  #client: grpc.Client | undefined;
  #clients: ServiceClients | undefined;
  #starting: Promise<CsiDriverInfo> | undefined;
  #info: CsiDriverInfo | undefined;
  #lossReported = false;

  constructor(options: CsiConnectionOptions) {
    this.address = parseCsiAddress(options.address);
    this.#opts = options;
    this.#logger = options.logger ?? discardLogger;
    this.#clock = options.clock ?? realClock;
    this.#schema = options.schema ?? csiSchema();
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    if (!(this.#timeoutMs > 0)) throw new RangeError(`invalid --timeout: must be positive, got ${this.#timeoutMs} ms`);
  }

  get state(): CsiConnectionState {
    return this.#state;
  }

  /** Driver name and capabilities, read once by start(). */
  get info(): CsiDriverInfo {
    if (!this.#info) throw new Error(`CSI driver information is not available yet (connection state: ${this.#state})`);
    return this.#info;
  }

  get driverName(): string {
    return this.info.name;
  }

  hasControllerCapability(capability: ControllerCapabilityName): boolean {
    return this.info.controllerCapabilities.has(capability);
  }

  hasPluginService(capability: PluginServiceCapabilityName): boolean {
    return this.info.pluginCapabilities.services.has(capability);
  }

  get identity(): IdentityClient {
    return this.#connected().identity;
  }

  get controller(): ControllerClient {
    return this.#connected().controller;
  }

  get node(): NodeClient {
    return this.#connected().node;
  }

  get groupController(): GroupControllerClient {
    return this.#connected().groupController;
  }

  /** Connects, probes until ready and reads the driver's identity. Idempotent. */
  start(signal?: AbortSignal): Promise<CsiDriverInfo> {
    this.#starting ??= this.#start(signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal);
    return this.#starting;
  }

  dispose(): void {
    if (this.#state === 'closed') return;
    this.#closing.abort(new Error('CSI connection closed'));
    this.#transition('closed');
    this.#client?.close();
  }

  async #start(signal: AbortSignal): Promise<CsiDriverInfo> {
    try {
      await this.#connect(signal);
      await this.#probeUntilReady(signal);
      this.#info = await this.#fetchInfo();
      this.#transition('ready');
      return this.#info;
    } catch (err) {
      if (this.#state !== 'closed' && this.#state !== 'lost') {
        this.#transition('failed');
        this.#client?.close();
      }
      if (signal.aborted && err === signal.reason) throw err;
      throw err instanceof CsiConnectError
        ? err
        : new CsiConnectError(`failed to connect to CSI driver at ${this.address.original}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #connect(signal: AbortSignal): Promise<void> {
    const deadline = this.#clock.now() + this.#connectTimeoutMs;
    const { socketPath, target } = this.address;
    this.#transition('waiting-for-socket');
    this.#logger.v(5).info('Connecting', { address: target });

    let lastLog = this.#clock.now();
    const stillConnecting = () => {
      if (this.#clock.now() - lastLog < STILL_CONNECTING_INTERVAL_MS) return;
      lastLog = this.#clock.now();
      this.#logger.info('Still connecting', { address: target });
    };
    try {
      await waitForSocket(socketPath, {
        clock: this.#clock,
        deadline,
        pollIntervalMs: this.#opts.socketPollIntervalMs ?? 100,
        signal,
        onWaiting: stillConnecting,
      });
    } catch (err) {
      if (err instanceof SocketWaitTimeoutError) {
        throw new CsiConnectError(
          `failed to connect to CSI driver at ${this.address.original}: ${err.message} within ${this.#connectTimeoutMs} ms`,
        );
      }
      throw err;
    }

    this.#transition('connecting');
    const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 1000,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.client_idle_timeout_ms': NEVER_IDLE_MS,
      ...this.#opts.channelOptions,
    });
    this.#client = client;
    const caller = new CsiUnaryCaller({
      client,
      schema: this.#schema,
      logger: this.#logger,
      timeoutMs: this.#timeoutMs,
      ...(this.#opts.metrics ? { metrics: this.#opts.metrics } : {}),
      ...(this.#opts.maxGrpcLogLength !== undefined ? { maxLogLength: this.#opts.maxGrpcLogLength } : {}),
    });
    this.#clients = {
      identity: createServiceClient(caller, 'Identity'),
      controller: createServiceClient(caller, 'Controller'),
      node: createServiceClient(caller, 'Node'),
      groupController: createServiceClient(caller, 'GroupController'),
    };

    const channel = client.getChannel();
    for (;;) {
      signal.throwIfAborted();
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) break;
      if (state === grpc.connectivityState.SHUTDOWN) throw new CsiConnectError('CSI connection closed while connecting');
      const left = deadline - this.#clock.now();
      if (left <= 0) {
        throw new CsiConnectError(
          `failed to connect to CSI driver at ${this.address.original}: not connected within ${this.#connectTimeoutMs} ms ` +
            `(channel state ${grpc.connectivityState[state]})`,
        );
      }
      stillConnecting();
      await watchStateChange(channel, state, Math.min(left, STILL_CONNECTING_INTERVAL_MS), signal);
    }
    this.#monitorConnectionLoss(channel);
  }

  /** From the first READY on, the channel leaving READY means the driver went away. */
  #monitorConnectionLoss(channel: GrpcChannel): void {
    channel.watchConnectivityState(grpc.connectivityState.READY, Infinity, () => {
      if (this.#closing.signal.aborted || this.#lossReported) return;
      const now = channel.getConnectivityState(false);
      if (now === grpc.connectivityState.SHUTDOWN) return;
      this.#lossReported = true;
      const channelState = grpc.connectivityState[now] ?? String(now);
      this.#logger.error('Lost connection', undefined, { address: this.address.target, channelState });
      this.#transition('lost');
      const handler = this.#opts.onConnectionLost ?? exitOnConnectionLoss;
      try {
        handler({ address: this.address.original, socketPath: this.address.socketPath, channelState, logger: this.#logger });
      } catch (err) {
        this.#logger.error('onConnectionLost handler failed', err);
      }
    });
  }

  async #probeUntilReady(signal: AbortSignal): Promise<void> {
    this.#transition('probing');
    const identity = this.#connected().identity;
    const interval = this.#opts.probeIntervalMs ?? 1000;
    const limit = this.#opts.probeTimeoutMs;
    const giveUpAt = limit === undefined ? Infinity : this.#clock.now() + limit;
    for (;;) {
      this.#logger.info('Probing CSI driver for readiness');
      try {
        const response = await identity.probe({}, { signal });
        // An unset `ready` means ready.
        if (response.ready === null || response.ready === undefined || response.ready.value) return;
        this.#logger.info('CSI driver is not ready');
      } catch (err) {
        signal.throwIfAborted();
        if (!(err instanceof CsiCallError && err.code === GrpcCode.DeadlineExceeded)) {
          throw new CsiConnectError(`CSI driver probe failed: ${(err as Error).message}`, { cause: err });
        }
        this.#logger.info('CSI driver probe timed out');
      }
      const left = giveUpAt - this.#clock.now();
      if (left <= 0) throw new CsiConnectError(`CSI driver at ${this.address.original} did not become ready within ${limit} ms`);
      await this.#clock.sleep(Math.min(interval, left), signal);
    }
  }

  async #fetchInfo(): Promise<CsiDriverInfo> {
    this.#transition('fetching-info');
    const { identity, controller } = this.#connected();
    const pluginInfo = await identity.getPluginInfo({}).catch((err: unknown) => {
      throw new CsiConnectError(`error getting CSI driver name: ${(err as Error).message}`, { cause: err });
    });
    this.#opts.metrics?.setDriverName(pluginInfo.name);
    this.#logger.info('CSI driver name', { driver: pluginInfo.name });

    const pluginCaps = await identity.getPluginCapabilities({}).catch((err: unknown) => {
      throw new CsiConnectError(`error getting CSI driver capabilities: ${(err as Error).message}`, { cause: err });
    });
    const services = new Set<PluginServiceCapabilityName>();
    const volumeExpansion = new Set<VolumeExpansionName>();
    for (const cap of pluginCaps.capabilities) {
      if (cap.service) services.add(cap.service.type);
      if (cap.volume_expansion) volumeExpansion.add(cap.volume_expansion.type);
    }

    const controllerCapabilities = new Set<ControllerCapabilityName>();
    const policy = this.#opts.controllerCapabilities ?? 'always';
    if (policy === 'always' || services.has('CONTROLLER_SERVICE')) {
      const controllerCaps = await controller.controllerGetCapabilities({}).catch((err: unknown) => {
        throw new CsiConnectError(`error getting CSI driver controller capabilities: ${(err as Error).message}`, { cause: err });
      });
      for (const cap of controllerCaps.capabilities) {
        if (cap.rpc) controllerCapabilities.add(cap.rpc.type);
      }
    }

    return {
      name: pluginInfo.name,
      vendorVersion: pluginInfo.vendor_version,
      manifest: pluginInfo.manifest,
      pluginCapabilities: { services, volumeExpansion, raw: pluginCaps.capabilities },
      controllerCapabilities,
    };
  }

  #connected(): ServiceClients {
    if (!this.#clients) throw new Error(`CSI connection is not established (state: ${this.#state})`);
    return this.#clients;
  }

  #transition(next: CsiConnectionState): void {
    const previous = this.#state;
    if (previous === next) return;
    if (!TRANSITIONS[previous].includes(next)) {
      // A bug, not a runtime condition; reported loudly but not thrown, because transitions also
      // happen inside grpc-js callbacks where a throw would take the process down.
      this.#logger.error('CSI connection: invalid state transition ignored', undefined, { from: previous, to: next });
      return;
    }
    this.#state = next;
    this.#logger.v(4).info('CSI connection state', { state: next, previous });
    try {
      this.#opts.onStateChange?.(next, previous);
    } catch (err) {
      this.#logger.error('onStateChange handler failed', err);
    }
  }
}

/** Resolves when the channel leaves `state` or after `waitMs`; rejects on abort. */
function watchStateChange(
  channel: GrpcChannel,
  state: grpc.connectivityState,
  waitMs: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    channel.watchConnectivityState(state, Date.now() + waitMs, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
