// A fake CSI plugin for tests: a real grpc-js server on a real (temporary) unix socket, serving
// Identity, Controller and a minimal Node service. By default it behaves like a small, correct
// driver backed by an in-memory volume store; any method can be overridden at run time to answer
// something else, fail with a gRPC status, hang until released, or answer bytes that are not a
// valid message. Every call is recorded. stop()/restart() reuse the same socket path, so a
// client sees the driver go away and come back.
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Disposable } from '../../lifecycle/disposable.js';
import { GrpcCode, grpcCodeName, grpcStatusOf } from '../errors.js';
import { int64ToBigint, int64ToWire } from '../int64.js';
import { csiSchema } from '../schema.js';
import type { CsiMethod, CsiSchema } from '../schema.js';
import type {
  ControllerCapabilityName,
  CsiMethodName,
  CsiPluginCapabilityInput,
  CsiServerRequest,
  CsiServerResponse,
  CsiTopologyInput,
  NodeCapabilityName,
} from '../types.js';
import { FakeVolumeStore } from './fake-volume-store.js';
import type { FakeVolumeStoreOptions } from './fake-volume-store.js';
import { grpcStatus } from './grpc-status.js';

export type FakeServedService = 'Identity' | 'Controller' | 'Node';
/** CSI method names are unique across these three services, so a name alone identifies a method. */
export type FakeMethodName = CsiMethodName<'Identity'> | CsiMethodName<'Controller'> | CsiMethodName<'Node'>;
type ServiceOf<M extends FakeMethodName> = M extends CsiMethodName<'Identity'>
  ? 'Identity'
  : M extends CsiMethodName<'Controller'>
    ? 'Controller'
    : 'Node';
export type FakeRequest<M extends FakeMethodName> = CsiServerRequest<ServiceOf<M>, M & CsiMethodName<ServiceOf<M>>>;
export type FakeResponse<M extends FakeMethodName> = CsiServerResponse<ServiceOf<M>, M & CsiMethodName<ServiceOf<M>>>;

/** Bytes sent as the response body as they are, without serialization. */
export class RawResponse {
  constructor(readonly bytes: Buffer) {}
}

export function rawResponse(bytes: Uint8Array | readonly number[]): RawResponse {
  return new RawResponse(Buffer.from(bytes as number[]));
}

export interface FakeCallContext {
  /** Aborted when the client cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  readonly metadata: grpc.Metadata;
  readonly plugin: FakeCsiPlugin;
}

export type FakeHandler<M extends FakeMethodName> = (
  request: FakeRequest<M>,
  context: FakeCallContext,
) => FakeResponse<M> | RawResponse | Promise<FakeResponse<M> | RawResponse>;

export interface FakeCall {
  readonly service: FakeServedService;
  readonly method: FakeMethodName;
  /** The decoded request, int64 fields as bigint. */
  readonly request: unknown;
  /** `OK` or the Go name of the status code the fake answered with; undefined while in flight. */
  outcome?: string;
}

export interface FakeHang {
  /** Lets the held calls (and later ones) through to the handler that was in place before. */
  release(): void;
  /** Calls currently held. */
  readonly waiting: number;
}

export type GarbageKind =
  /** Bytes that do not decode as the response message (the client reports INTERNAL). */
  | 'bytes'
  /** A valid but empty message: every field at its default, required fields missing. */
  | 'empty';

export interface FakeCsiPluginOptions {
  /** Default: `csi.sock` in a fresh temporary directory, removed by dispose(). */
  socketPath?: string;
  driverName?: string;
  vendorVersion?: string;
  manifest?: Record<string, string>;
  /** Probe's answer; can be changed at run time with `plugin.ready`. Default true. */
  ready?: boolean;
  pluginCapabilities?: CsiPluginCapabilityInput[];
  controllerCapabilities?: ControllerCapabilityName[];
  nodeCapabilities?: NodeCapabilityName[];
  nodeId?: string;
  maxVolumesPerNode?: bigint;
  nodeTopology?: CsiTopologyInput;
  store?: FakeVolumeStoreOptions;
  schema?: CsiSchema;
}

export const FAKE_DRIVER_NAME = 'fake.csi.example.com';

export const DEFAULT_FAKE_CONTROLLER_CAPABILITIES: readonly ControllerCapabilityName[] = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'GET_CAPACITY',
  'EXPAND_VOLUME',
  'MODIFY_VOLUME',
];

const SERVED: readonly FakeServedService[] = ['Identity', 'Controller', 'Node'];

type AnyHandler = (request: unknown, context: FakeCallContext) => unknown;

interface Waiter {
  method: FakeMethodName;
  count: number;
  resolve: () => void;
}

export class FakeCsiPlugin implements Disposable {
  readonly socketPath: string;
  readonly store: FakeVolumeStore;
  ready: boolean;
  driverName: string;
  pluginCapabilities: CsiPluginCapabilityInput[];
  controllerCapabilities: ControllerCapabilityName[];
  nodeCapabilities: NodeCapabilityName[];

  readonly #opts: FakeCsiPluginOptions;
  readonly #schema: CsiSchema;
  readonly #tempDir: string | undefined;
  readonly #handlers = new Map<FakeMethodName, AnyHandler>();
  readonly #calls: FakeCall[] = [];
  readonly #waiters = new Set<Waiter>();
  #server: grpc.Server | undefined;
  #disposed = false;

  constructor(options: FakeCsiPluginOptions = {}) {
    this.#opts = options;
    this.#schema = options.schema ?? csiSchema();
    if (options.socketPath) {
      this.socketPath = options.socketPath;
    } else {
      this.#tempDir = mkdtempSync(join(tmpdir(), 'csi-fake-'));
      this.socketPath = join(this.#tempDir, 'csi.sock');
    }
    this.store = new FakeVolumeStore(options.store);
    this.ready = options.ready ?? true;
    this.driverName = options.driverName ?? FAKE_DRIVER_NAME;
    this.pluginCapabilities = options.pluginCapabilities ?? [
      { service: { type: 'CONTROLLER_SERVICE' } },
      { volume_expansion: { type: 'ONLINE' } },
    ];
    this.controllerCapabilities = [...(options.controllerCapabilities ?? DEFAULT_FAKE_CONTROLLER_CAPABILITIES)];
    this.nodeCapabilities = [...(options.nodeCapabilities ?? [])];
  }

  /** Creates a plugin and starts serving. */
  static async start(options: FakeCsiPluginOptions = {}): Promise<FakeCsiPlugin> {
    const plugin = new FakeCsiPlugin(options);
    await plugin.start();
    return plugin;
  }

  /** `unix:///…` address of the socket. */
  get address(): string {
    return `unix://${this.socketPath}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  // ---- behaviour -------------------------------------------------------------------------------

  setHandler<M extends FakeMethodName>(method: M, handler: FakeHandler<M>): void {
    this.#handlers.set(method, handler as AnyHandler);
  }

  /** Back to the default behaviour for one method. */
  resetHandler(method: FakeMethodName): void {
    this.#handlers.delete(method);
  }

  resetHandlers(): void {
    this.#handlers.clear();
  }

  /** Always answer `response`. */
  respond<M extends FakeMethodName>(method: M, response: FakeResponse<M>): void {
    this.setHandler(method, () => response);
  }

  /** Fail with a gRPC status, `times` times (default: until changed), then behave as before. */
  fail(method: FakeMethodName, code: number, details = `${grpcCodeName(code)} from fake plugin`, times = Infinity): void {
    const previous = this.#currentHandler(method);
    let left = times;
    this.#handlers.set(method, (request, context) => {
      if (left <= 0) return previous(request, context);
      left--;
      throw grpcStatus(code, details);
    });
  }

  /** Answer something that is not a valid response for the method. */
  garbage(method: FakeMethodName, kind: GarbageKind = 'bytes'): void {
    // Field 1, length-delimited, announcing far more bytes than follow: no decoder accepts it.
    const bytes = rawResponse([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    this.#handlers.set(method, () => (kind === 'bytes' ? bytes : {}));
  }

  /** Hold every call of `method` until release() (or until the client gives up on it). */
  hang(method: FakeMethodName): FakeHang {
    const previous = this.#currentHandler(method);
    let released = false;
    let waiting = 0;
    const releasers = new Set<() => void>();
    this.#handlers.set(method, async (request, context) => {
      if (!released) {
        waiting++;
        try {
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              releasers.delete(resolve);
              reject(grpcStatus(GrpcCode.Canceled, 'call cancelled while held by the fake plugin'));
            };
            releasers.add(resolve);
            context.signal.addEventListener('abort', onAbort, { once: true });
          });
        } finally {
          waiting--;
        }
      }
      return previous(request, context);
    });
    return {
      release: () => {
        released = true;
        for (const r of releasers) r();
        releasers.clear();
      },
      get waiting() {
        return waiting;
      },
    };
  }

  // ---- call records ----------------------------------------------------------------------------

  get calls(): readonly FakeCall[] {
    return this.#calls;
  }

  callsTo<M extends FakeMethodName>(method: M): (FakeCall & { request: FakeRequest<M> })[] {
    return this.#calls.filter((c) => c.method === method) as (FakeCall & { request: FakeRequest<M> })[];
  }

  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** Resolves once `count` calls of `method` have arrived in total. */
  waitForCalls(method: FakeMethodName, count = 1, timeoutMs = 5000): Promise<void> {
    if (this.callsTo(method).length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        method,
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const got = this.callsTo(method).length;
        reject(new Error(`fake CSI plugin: ${count} call(s) of ${method} did not arrive within ${timeoutMs} ms (got ${got})`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#disposed) throw new Error('fake CSI plugin is disposed');
    if (this.#server) return;
    await rm(this.socketPath, { force: true });
    const server = new grpc.Server();
    for (const service of SERVED) this.#addService(server, service);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.#server = server;
  }

  /** Stops serving at once (in-flight calls are cancelled) and removes the socket. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) server.forceShutdown();
    await rm(this.socketPath, { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.stop();
    if (this.#tempDir) rmSync(this.#tempDir, { recursive: true, force: true });
  }

  // ---- serving ---------------------------------------------------------------------------------

  #addService(server: grpc.Server, service: FakeServedService): void {
    const definition = this.#schema.serviceDefinition(service);
    const wrapped: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of this.#schema.methods(service)) {
      const base = definition[method.name];
      if (method.streaming || !base) continue;
      wrapped[method.name] = {
        ...(base as grpc.MethodDefinition<unknown, unknown>),
        responseSerialize: (value: unknown) =>
          value instanceof RawResponse ? value.bytes : (base.responseSerialize as (v: unknown) => Buffer)(value),
      };
      const handler: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
        void this.#dispatch(service, method, call, callback);
      };
      implementation[method.name] = handler;
    }
    server.addService(wrapped, implementation);
  }

  async #dispatch(
    service: FakeServedService,
    method: CsiMethod,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): Promise<void> {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort(new Error('cancelled by the client')));
    const name = method.name as FakeMethodName;
    const record: FakeCall = { service, method: name, request: call.request };
    try {
      const request = int64ToBigint(method.requestType, call.request);
      (record as { request: unknown }).request = request;
      this.#calls.push(record);
      this.#notifyWaiters();
      const result = await this.#currentHandler(name)(request, { signal: abort.signal, metadata: call.metadata, plugin: this });
      const response = result instanceof RawResponse ? result : int64ToWire(method.responseType, result ?? {});
      record.outcome = 'OK';
      callback(null, response);
    } catch (err) {
      const status = grpcStatusOf(err) ?? { code: GrpcCode.Unknown, details: (err as Error)?.message ?? String(err) };
      record.outcome = grpcCodeName(status.code);
      const error: grpc.ServerErrorResponse = Object.assign(new Error(status.details), {
        code: status.code,
        details: status.details,
      });
      callback(error, null);
    }
  }

  #notifyWaiters(): void {
    for (const w of this.#waiters) {
      if (this.callsTo(w.method).length >= w.count) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  #currentHandler(method: FakeMethodName): AnyHandler {
    return this.#handlers.get(method) ?? this.#defaultHandler(method);
  }

  #defaultHandler(method: FakeMethodName): AnyHandler {
    const store = this.store;
    const o = this.#opts;
    const defaults: Partial<Record<FakeMethodName, AnyHandler>> = {
      GetPluginInfo: () => ({ name: this.driverName, vendor_version: o.vendorVersion ?? '0.0.0-fake', manifest: o.manifest ?? {} }),
      GetPluginCapabilities: () => ({ capabilities: this.pluginCapabilities }),
      Probe: () => ({ ready: { value: this.ready } }),
      ControllerGetCapabilities: () => ({ capabilities: this.controllerCapabilities.map((type) => ({ rpc: { type } })) }),
      CreateVolume: (r) => store.createVolume(r as FakeRequest<'CreateVolume'>),
      DeleteVolume: (r) => store.deleteVolume(r as FakeRequest<'DeleteVolume'>),
      ControllerPublishVolume: (r) => store.publish(r as FakeRequest<'ControllerPublishVolume'>),
      ControllerUnpublishVolume: (r) => store.unpublish(r as FakeRequest<'ControllerUnpublishVolume'>),
      ControllerExpandVolume: (r) => store.expand(r as FakeRequest<'ControllerExpandVolume'>),
      ControllerModifyVolume: (r) => store.modify(r as FakeRequest<'ControllerModifyVolume'>),
      ControllerGetVolume: (r) => store.getVolume(r as FakeRequest<'ControllerGetVolume'>),
      ValidateVolumeCapabilities: (r) => store.validate(r as FakeRequest<'ValidateVolumeCapabilities'>),
      ListVolumes: (r) => store.list(r as FakeRequest<'ListVolumes'>),
      GetCapacity: (r) => store.getCapacity(r as FakeRequest<'GetCapacity'>),
      NodeGetInfo: () => ({
        node_id: o.nodeId ?? 'fake-node',
        max_volumes_per_node: o.maxVolumesPerNode ?? 0n,
        accessible_topology: o.nodeTopology ?? null,
      }),
      NodeGetCapabilities: () => ({ capabilities: this.nodeCapabilities.map((type) => ({ rpc: { type } })) }),
    };
    return (
      defaults[method] ??
      (() => {
        throw grpcStatus(GrpcCode.Unimplemented, `${method} is not implemented by the fake CSI plugin`);
      })
    );
  }
}
