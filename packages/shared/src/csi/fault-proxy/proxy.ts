// A CSI proxy that injects faults: a gRPC server on a unix socket that forwards every unary CSI
// method (Identity, Controller, Node, GroupController) to the real plugin's socket, byte for
// byte, unless a rule says otherwise (delay, error, "succeeded on the backend but the caller
// timed out", hang, dropped connections). Put it between a sidecar and its plugin to reproduce
// the failures that leak volumes, without touching either of them.
//
// Messages are not re-encoded: requests and answers pass through as the bytes they were, so
// the proxy is transparent to fields it does not know. Requests are decoded only to find the
// volume names and ids rules match on.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Disposable } from '../../lifecycle/disposable.js';
import { discardLogger, type Logger } from '../../logging/logger.js';
import { parseCsiAddress, type CsiAddress } from '../address.js';
import { GrpcCode, grpcCodeName, grpcStatusOf } from '../errors.js';
import { csiSchema, type CsiMethod, type CsiSchema, type CsiServiceName } from '../schema.js';
import { ActiveRule, describeAction, grpcCodeOf, parseFaultRule, pickRule, requestKeys, type FaultRule } from './rules.js';

export const PROXIED_SERVICES: readonly CsiServiceName[] = ['Identity', 'Controller', 'Node', 'GroupController'];

export interface FaultProxyOptions {
  /** Where the proxy listens: an absolute socket path or unix:///path. */
  listen: string;
  /** The plugin's socket: an absolute path or unix:///path. */
  target: string;
  /** Rules in place from the start. */
  rules?: FaultRule[];
  schema?: CsiSchema;
  logger?: Logger;
  /** How many call records are kept, oldest dropped first. Default 10 000. */
  maxRecords?: number;
}

/** One call through the proxy. */
export interface ProxyCallRecord {
  seq: number;
  /** Method name, e.g. `CreateVolume`. */
  method: string;
  /** Volume names and ids found in the request. */
  keys: string[];
  /** The rule that applied, if any. */
  rule?: string;
  action?: string;
  /**
   * What the caller got: `OK` or a gRPC code name; `hung` while held, `abandoned` when the
   * caller gave up on a held call, `dropped` when the connection was closed under it.
   */
  outcome?: string;
  /** What the plugin answered, when the call was forwarded (`OK` or a code name). */
  backend?: string;
  /** The plugin's volume id, when it answered CreateVolume with OK. */
  volumeId?: string;
  startedAt: number;
  durationMs?: number;
}

type Bytes = Buffer;
const passThrough = (b: Bytes): Bytes => b;

interface Waiter {
  test: (r: ProxyCallRecord) => boolean;
  count: number;
  resolve: () => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class FaultProxy implements Disposable {
  readonly listenAddress: CsiAddress;
  readonly targetAddress: CsiAddress;
  readonly #schema: CsiSchema;
  readonly #log: Logger;
  readonly #maxRecords: number;
  readonly #rules: ActiveRule[] = [];
  readonly #records: ProxyCallRecord[] = [];
  readonly #waiters = new Set<Waiter>();
  /** Responders of calls currently held (hang / forwardThenHang), failed when connections drop. */
  readonly #held = new Set<(outcome: string) => void>();
  #server: grpc.Server | undefined;
  #backend: grpc.Client | undefined;
  #seq = 0;
  #ruleSeq = 0;
  #disposed = false;
  #up = false;

  constructor(options: FaultProxyOptions) {
    this.listenAddress = parseCsiAddress(options.listen, 'listen address');
    this.targetAddress = parseCsiAddress(options.target, 'target address');
    if (this.listenAddress.socketPath === this.targetAddress.socketPath) {
      throw new Error(`the fault proxy cannot listen on its own target socket ${this.targetAddress.socketPath}`);
    }
    this.#schema = options.schema ?? csiSchema();
    this.#log = (options.logger ?? discardLogger).withName('csi-fault-proxy');
    this.#maxRecords = options.maxRecords ?? 10_000;
    for (const r of options.rules ?? []) this.addRule(r);
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.start();
    return proxy;
  }

  /** `unix:///…` of the proxy socket: give it to the sidecar as --csi-address. */
  get address(): string {
    return this.listenAddress.target;
  }

  /** Whether the proxy socket is being served. */
  get up(): boolean {
    return this.#up;
  }

  // ---- rules -----------------------------------------------------------------------------------

  /** Adds a rule after the existing ones (the first matching rule wins); returns its id. */
  addRule(rule: FaultRule): string {
    const checked = parseFaultRule(rule);
    const id = checked.id ?? `rule-${++this.#ruleSeq}`;
    if (this.#rules.some((r) => r.rule.id === id)) throw new Error(`a fault rule with id ${JSON.stringify(id)} exists already`);
    const active = new ActiveRule(checked, id);
    this.#rules.push(active);
    this.#log.info('Fault rule added', { id, methods: checked.methods, volume: checked.volume, action: describeAction(active.rule.action) });
    return id;
  }

  removeRule(id: string): boolean {
    const i = this.#rules.findIndex((r) => r.rule.id === id);
    if (i < 0) return false;
    this.#rules.splice(i, 1);
    return true;
  }

  clearRules(): void {
    this.#rules.length = 0;
  }

  get rules(): readonly ActiveRule[] {
    return this.#rules;
  }

  // ---- call records ----------------------------------------------------------------------------

  get calls(): readonly ProxyCallRecord[] {
    return this.#records;
  }

  callsTo(method: string): ProxyCallRecord[] {
    return this.#records.filter((r) => r.method === method);
  }

  clearCalls(): void {
    this.#records.length = 0;
  }

  /** Resolves once `count` finished calls of `method` are recorded (optionally only those matching `where`). */
  waitForCalls(method: string, count = 1, timeoutMs = 10_000, where: (r: ProxyCallRecord) => boolean = () => true): Promise<void> {
    const test = (r: ProxyCallRecord) => r.method === method && r.outcome !== undefined && r.outcome !== 'hung' && where(r);
    if (this.#records.filter(test).length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        test,
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`csi-fault-proxy: ${count} finished call(s) of ${method} did not happen within ${timeoutMs} ms (got ${this.#records.filter(test).length})`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  #record(r: ProxyCallRecord): void {
    this.#records.push(r);
    if (this.#records.length > this.#maxRecords) this.#records.splice(0, this.#records.length - this.#maxRecords);
  }

  #settled(): void {
    for (const w of this.#waiters) {
      if (this.#records.filter(w.test).length >= w.count) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Starts serving the proxy socket (the target need not be up yet). */
  async start(): Promise<void> {
    if (this.#disposed) throw new Error('csi-fault-proxy is disposed');
    if (this.#server) return;
    const path = this.listenAddress.socketPath;
    mkdirSync(dirname(path), { recursive: true });
    await rm(path, { force: true });
    const server = new grpc.Server();
    for (const service of PROXIED_SERVICES) {
      for (const method of this.#schema.methods(service)) {
        if (method.streaming) continue;
        server.register<Bytes, Bytes>(method.path, (call: grpc.ServerUnaryCall<Bytes, Bytes>, cb: grpc.sendUnaryData<Bytes>) => {
          void this.#handle(method, call, cb);
        }, passThrough, passThrough, 'unary');
      }
    }
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(this.listenAddress.target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.#server = server;
    this.#up = true;
    this.#log.info('Serving', { listen: this.listenAddress.target, target: this.targetAddress.target });
  }

  /**
   * Stops serving at once: every connection is closed, calls in flight fail on the caller's
   * side, and the socket disappears (as when the plugin container restarts).
   */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#up = false;
    for (const fail of [...this.#held]) fail('dropped');
    this.#held.clear();
    server?.forceShutdown();
    await rm(this.listenAddress.socketPath, { force: true });
  }

  /** Goes away for `downMs`, then serves again on the same socket. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    if (!this.#disposed) await this.start();
  }

  /** Closes every connection now and serves again at once (callers must reconnect). */
  async dropConnections(): Promise<void> {
    this.#log.info('Dropping every connection');
    await this.restart(0);
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.stop();
    this.#backend?.close();
    this.#backend = undefined;
  }

  // ---- forwarding ------------------------------------------------------------------------------

  #client(): grpc.Client {
    this.#backend ??= new grpc.Client(this.targetAddress.target, grpc.credentials.createInsecure(), {
      // Reconnect quickly when the plugin comes back.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    return this.#backend;
  }

  #keys(method: CsiMethod, bytes: Bytes): string[] {
    try {
      return requestKeys(method.requestType.decode(bytes));
    } catch {
      return [];
    }
  }

  /** Calls the plugin with the caller's bytes; `deadline` undefined means none. */
  #forward(
    method: CsiMethod,
    request: Bytes,
    metadata: grpc.Metadata,
    deadline: grpc.Deadline | undefined,
  ): { done: Promise<{ error: grpc.ServiceError | null; value: Bytes | undefined }>; cancel: () => void } {
    let call: grpc.ClientUnaryCall | undefined;
    const done = new Promise<{ error: grpc.ServiceError | null; value: Bytes | undefined }>((resolve) => {
      try {
        call = this.#client().makeUnaryRequest<Bytes, Bytes>(
          method.path,
          passThrough,
          passThrough,
          request,
          forwardedMetadata(metadata),
          deadline === undefined ? {} : { deadline },
          (error, value) => resolve({ error: error ?? null, value }),
        );
      } catch (err) {
        resolve({ error: Object.assign(new Error(String(err)), { code: GrpcCode.Unavailable, details: String(err), metadata: new grpc.Metadata() }) as grpc.ServiceError, value: undefined });
      }
    });
    return { done, cancel: () => call?.cancel() };
  }

  async #handle(method: CsiMethod, call: grpc.ServerUnaryCall<Bytes, Bytes>, cb: grpc.sendUnaryData<Bytes>): Promise<void> {
    const started = Date.now();
    const keys = this.#keys(method, call.request);
    const rec: ProxyCallRecord = { seq: ++this.#seq, method: method.name, keys, startedAt: started };
    this.#record(rec);
    let answered = false;
    const answer = (outcome: string, error: grpc.ServerErrorResponse | null, value?: Bytes) => {
      if (answered) return;
      answered = true;
      rec.outcome = outcome;
      rec.durationMs = Date.now() - started;
      try {
        if (error) cb(error, null);
        else cb(null, value);
      } catch (err) {
        this.#log.v(4).info('Could not answer the caller', { method: method.name, err: (err as Error).message });
      }
      this.#settled();
    };
    const fail = (code: number, details: string, outcome = grpcCodeName(code)) =>
      answer(outcome, Object.assign(new Error(details), { code, details }));
    const noteBackend = (error: grpc.ServiceError | null, value: Bytes | undefined) => {
      rec.backend = error ? grpcCodeName(grpcStatusOf(error)?.code ?? GrpcCode.Unknown) : 'OK';
      if (!error && value && method.name === 'CreateVolume') {
        try {
          const decoded = method.responseType.decode(value) as unknown as { volume?: { volume_id?: string } };
          if (decoded.volume?.volume_id) rec.volumeId = decoded.volume.volume_id;
        } catch {
          // not decodable: nothing to note
        }
      }
    };
    const relay = (error: grpc.ServiceError | null, value: Bytes | undefined) => {
      if (error) {
        const status = grpcStatusOf(error) ?? { code: GrpcCode.Unknown, details: error.message };
        answer(grpcCodeName(status.code), Object.assign(new Error(status.details), { code: status.code, details: status.details }));
      } else {
        answer('OK', null, value);
      }
    };
    /** Holds the caller until it gives up (deadline, cancel) or the connection is dropped. */
    const hold = () => {
      rec.outcome = 'hung';
      const release = (outcome: string) => {
        this.#held.delete(release);
        if (answered) return;
        if (outcome === 'dropped') {
          answered = true;
          rec.outcome = 'dropped';
          rec.durationMs = Date.now() - started;
          this.#settled();
        } else {
          fail(GrpcCode.Unavailable, 'csi-fault-proxy: released', outcome);
        }
      };
      this.#held.add(release);
      call.once('cancelled', () => {
        this.#held.delete(release);
        if (answered) return;
        answered = true;
        rec.outcome = 'abandoned';
        rec.durationMs = Date.now() - started;
        this.#settled();
      });
    };

    const active = pickRule(this.#rules, { method: method.name, path: method.path, keys });
    const action = active?.rule.action;
    if (active) {
      rec.rule = active.rule.id;
      rec.action = describeAction(active.rule.action);
      this.#log.v(2).info('Fault applied', { method: method.name, keys, rule: active.rule.id, action: rec.action });
    }

    switch (action?.type) {
      case 'error':
        fail(grpcCodeOf(action.code, 'code'), action.message ?? `csi-fault-proxy: injected ${grpcCodeName(grpcCodeOf(action.code, 'code'))}`);
        return;
      case 'hang':
        hold();
        return;
      case 'drop':
        rec.outcome = 'dropped';
        await this.dropConnections();
        answered = true;
        rec.durationMs = Date.now() - started;
        this.#settled();
        return;
      case 'forwardThenError':
      case 'forwardThenHang':
      case 'forwardThenDrop': {
        // The backend call is on its own: no deadline, not cancelled with the caller.
        const out = this.#forward(method, call.request, call.metadata, undefined);
        if (action.type === 'forwardThenHang') hold();
        const { error, value } = await out.done;
        noteBackend(error, value);
        if (action.type === 'forwardThenHang') {
          this.#settled();
          return;
        }
        if (action.type === 'forwardThenDrop') {
          rec.outcome = 'dropped';
          await this.dropConnections();
          answered = true;
          rec.durationMs = Date.now() - started;
          this.#settled();
          return;
        }
        if (action.delayMs) await sleep(action.delayMs);
        const code = grpcCodeOf(action.code ?? GrpcCode.DeadlineExceeded, 'code');
        fail(code, action.message ?? (code === GrpcCode.DeadlineExceeded ? 'context deadline exceeded' : `csi-fault-proxy: injected ${grpcCodeName(code)}`));
        return;
      }
      case 'delay':
        await sleep(action.ms);
        break;
      default:
        break;
    }

    // A transparent forward: the caller's deadline, and its cancellation, reach the plugin.
    const deadline = call.getDeadline();
    const out = this.#forward(method, call.request, call.metadata, deadline === Infinity ? undefined : deadline);
    const onCancel = () => out.cancel();
    call.once('cancelled', onCancel);
    const { error, value } = await out.done;
    call.off('cancelled', onCancel);
    noteBackend(error, value);
    relay(error, value);
  }
}

/** The caller's metadata minus what grpc-js sets itself on the next hop. */
function forwardedMetadata(md: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [key, values] of Object.entries(md.getMap())) {
    if (key === 'user-agent' || key.startsWith('grpc-') || key.startsWith(':') || key === 'content-type' || key === 'te') continue;
    out.set(key, values as grpc.MetadataValue);
  }
  return out;
}
