// The Kubernetes client a sidecar gets: kubeconfig resolved like the Go sidecars' --kubeconfig /
// --master flags, one transport with QPS/burst, timeout and User-Agent, and raw JSON requests.
// client-node's typed API classes are available on demand (typed()); nothing on a sidecar's
// path loads them, because their module graph alone is ~75 MiB of RSS (ADR 7).

import os from 'node:os';
import type { Clock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import type { Logger } from '../logging/logger.js';
import { connectionFromKubeConfig, type KubeConfigLike, type KubeConnection } from './connection.js';
import type { KubeConfigSourceOptions, LoadedKubeConfig } from './kubeconfig.js';
import { loadKubeConfig } from './kubeconfig.js';
import { TokenBucket } from './token-bucket.js';
import type { KubeBufferResponse, KubeRequest, KubeResponse, KubeStreamResponse, RequestRecord } from './transport.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, KubeTransport } from './transport.js';
import type { TypedApis } from './typed-api.js';

export interface KubeClientSettings {
  /** Requests per second (--kube-api-qps); client-go's default 5. 0 or negative: no limit. */
  qps?: number;
  /** Burst (--kube-api-burst); client-go's default 10. */
  burst?: number;
  /** Timeout for each non-watch request, ms; default 30s. 0 disables. */
  requestTimeoutMs?: number;
  /** e.g. defaultUserAgent('csi-provisioner', 'v0.1.0'). */
  userAgent?: string;
  clock?: Clock;
  logger?: Logger;
  /** Called for every finished request (see restClientMetrics). */
  onRequest?: (rec: RequestRecord) => void;
}

export interface KubeClientOptions extends KubeConfigSourceOptions, KubeClientSettings {
  /** An already loaded config (e.g. client-node's KubeConfig); skips the --kubeconfig/--master resolution. */
  kubeConfig?: KubeConfigLike;
}

export interface KubeClient extends Disposable {
  /** Server and credentials. */
  readonly connection: KubeConnection;
  /** The server URL requests go to. */
  readonly server: string;
  /** Namespace of the current context (in-cluster: the pod's namespace). */
  readonly namespace: string | undefined;
  readonly limiter: TokenBucket;
  readonly transport: KubeTransport;
  /**
   * client-node's generated API classes on this client's transport, loaded on first call (tests
   * and tools; the sidecars use raw requests).
   */
  typed(): Promise<TypedApis>;
  /** A raw request; the answer parsed as JSON. Non-2xx throws KubeApiError. */
  request<T = unknown>(req: KubeRequest): Promise<T>;
  /** A raw request; the answer as text. Non-2xx throws KubeApiError. */
  requestText(req: KubeRequest): Promise<KubeResponse>;
  /** A raw request; the answer's bytes. Non-2xx throws KubeApiError. */
  requestBuffer(req: KubeRequest): Promise<KubeBufferResponse>;
  /** A streaming request (watch); resolves at the response headers. */
  stream(req: KubeRequest): Promise<KubeStreamResponse>;
}

/** A User-Agent in the Go sidecars' shape: 'csi-provisioner/v0.1.0 (linux/amd64) csi-sidecars-ts'. */
export function defaultUserAgent(component: string, version: string): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[os.arch()] ?? os.arch();
  return `${component}/${version} (${process.platform}/${arch}) csi-sidecars-ts`;
}

/**
 * Loads the kubeconfig once and makes clients from it; each client has its own token bucket (the
 * provisioner gives CSIStorageCapacity updates their own --kube-api-capacity-qps, for example).
 */
export class KubeClientFactory {
  readonly loaded: LoadedKubeConfig;
  readonly #defaults: KubeClientSettings;

  constructor(loaded: LoadedKubeConfig, defaults: KubeClientSettings = {}) {
    this.loaded = loaded;
    this.#defaults = defaults;
  }

  static fromFlags(opts: KubeClientOptions = {}): KubeClientFactory {
    const { kubeConfig, kubeconfig, master, env, homeDir, serviceAccountDir, ...settings } = opts;
    let loaded: LoadedKubeConfig;
    if (kubeConfig) {
      const server = kubeConfig.getCurrentCluster()?.server;
      if (!server) throw new Error('the given KubeConfig has no current cluster with a server URL');
      loaded = {
        connection: connectionFromKubeConfig(kubeConfig),
        config: undefined,
        cluster: undefined,
        user: undefined,
        source: 'provided',
        server,
        files: [],
        namespace: kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace,
        usesClientNode: true,
      };
    } else {
      loaded = loadKubeConfig({ kubeconfig, master, env, homeDir, serviceAccountDir, clock: settings.clock });
    }
    return new KubeClientFactory(loaded, settings);
  }

  create(overrides: KubeClientSettings = {}): KubeClient {
    const s = { ...this.#defaults, ...overrides };
    const limiter = new TokenBucket({ qps: s.qps ?? 5, burst: s.burst ?? 10, clock: s.clock });
    const transport = new KubeTransport({
      connection: this.loaded.connection,
      limiter,
      requestTimeoutMs: s.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      userAgent: s.userAgent,
      clock: s.clock,
      logger: s.logger,
      onRequest: s.onRequest,
    });
    const server = this.loaded.server;
    let typed: Promise<TypedApis> | undefined;
    return {
      connection: this.loaded.connection,
      server,
      namespace: this.loaded.namespace,
      limiter,
      transport,
      typed: () => (typed ??= import('./typed-api.js').then((m) => m.typedApis(transport, server))),
      request: <T>(req: KubeRequest) => transport.requestJson<T>(req),
      requestText: (req) => transport.request(req),
      requestBuffer: (req) => transport.requestBuffer(req),
      stream: (req) => transport.stream(req),
      dispose: () => transport.dispose(),
    };
  }
}

/** Resolves the kubeconfig from the flags and returns a client. */
export function createKubeClient(opts: KubeClientOptions = {}): KubeClient {
  return KubeClientFactory.fromFlags(opts).create();
}
