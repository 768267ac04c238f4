// One CSI unary call, end to end, the way every sidecar call must go: int64 conversion, a
// deadline, V(5) logging with secrets stripped, the operations metric, error classification and
// a check of required response fields. Everything a typed client method does is here.
import * as grpc from '@grpc/grpc-js';
import { onSignalAbort } from '../lifecycle/abort-fanout.js';
import type { Logger } from '../logging/logger.js';
import { CsiCallError, CsiInvalidResponseError, GrpcCode, grpcStatusOf } from './errors.js';
import { int64ToBigint, int64ToWire } from './int64.js';
import type { CsiOperationMetrics } from './metrics.js';
import { missingRequiredField } from './response-checks.js';
import { sanitizedJson } from './sanitize.js';
import type { CsiMethod, CsiSchema, CsiServiceName } from './schema.js';

export interface CsiCallOptions {
  /** Overrides the connection's per-call timeout (--timeout) for this call. */
  timeoutMs?: number;
  /** Cancels the call; it then fails with Canceled (not final). */
  signal?: AbortSignal;
  /** Value of the `migrated` metrics label, when the metrics have it. */
  migrated?: boolean;
}

export interface CsiUnaryCallerOptions {
  client: grpc.Client;
  schema: CsiSchema;
  logger: Logger;
  /** Per-call deadline in milliseconds (the sidecars' --timeout). */
  timeoutMs: number;
  metrics?: CsiOperationMetrics;
  /** Cap on logged response length (the attacher's --max-grpc-log-length); <= 0 means no cap. */
  maxLogLength?: number;
  /** Monotonic milliseconds, for call durations. */
  monotonicNow?: () => number;
}

export class CsiUnaryCaller {
  readonly #opts: CsiUnaryCallerOptions;
  readonly #now: () => number;

  constructor(options: CsiUnaryCallerOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`CSI call timeout must be positive, got ${options.timeoutMs} ms`);
    this.#opts = options;
    this.#now = options.monotonicNow ?? (() => performance.now());
  }

  get schema(): CsiSchema {
    return this.#opts.schema;
  }

  async call(service: CsiServiceName, methodName: string, request: unknown, options: CsiCallOptions = {}): Promise<unknown> {
    const method = this.#opts.schema.method(service, methodName);
    if (method.streaming) throw new Error(`${method.path} is a streaming method; CsiUnaryCaller only makes unary calls`);
    const message = request ?? {};
    // Conversion errors name the field and happen before anything is sent or recorded.
    const wire = int64ToWire(method.requestType, message);

    const log = this.#opts.logger.v(5);
    const logging = this.#opts.logger.enabled(5);
    if (logging) log.info('GRPC call', { method: method.path, request: sanitizedJson(method.requestType, message) });

    const started = this.#now();
    let response: unknown;
    let failure: unknown;
    try {
      response = await this.#invoke(method, wire, options);
    } catch (err) {
      failure = err;
    }
    this.#opts.metrics?.record(method.path, failure, (this.#now() - started) / 1000, options.migrated);

    const error = failure === undefined ? undefined : toCallError(method.path, failure);
    const friendly = error ? undefined : int64ToBigint(method.responseType, response);
    if (logging) {
      log.info('GRPC response', {
        response: this.#capped(sanitizedJson(method.responseType, friendly ?? {})),
        err: error ? error.message : null,
      });
    }
    if (error) throw error;

    const problem = missingRequiredField(method.responseType.fullName, friendly);
    if (problem) throw new CsiInvalidResponseError(method.path, problem);
    return friendly;
  }

  #capped(text: string): string {
    const max = this.#opts.maxLogLength ?? 0;
    if (max <= 0 || text.length <= max) return text;
    return `${text.slice(0, max)} [response body too large, log capped to ${max} chars]`;
  }

  #invoke(method: CsiMethod, wire: unknown, options: CsiCallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(new CsiCallError(method.path, GrpcCode.Canceled, 'call cancelled before it was sent'));
        return;
      }
      const deadline = Date.now() + (options.timeoutMs ?? this.#opts.timeoutMs);
      let call: grpc.ClientUnaryCall;
      let finished = false;
      let unlisten: (() => void) | undefined;
      try {
        call = this.#opts.client.makeUnaryRequest(
          method.path,
          method.definition.requestSerialize as (value: unknown) => Buffer,
          method.definition.responseDeserialize as (value: Buffer) => unknown,
          wire,
          new grpc.Metadata(),
          { deadline },
          (err, value) => {
            finished = true;
            unlisten?.();
            if (err) reject(err);
            else resolve(value);
          },
        );
      } catch (err) {
        // grpc-js throws synchronously only when the channel is already closed; Go reports a
        // closing ClientConn as Canceled.
        const why = `connection to the CSI driver is closed: ${String((err as Error).message ?? err)}`;
        reject(new CsiCallError(method.path, GrpcCode.Canceled, why, { cause: err }));
        return;
      }
      if (signal && !finished) unlisten = onSignalAbort(signal, () => call.cancel());
    });
  }
}

/**
 * grpc-js words a deadline that expired on our side with timings and addresses ("Deadline
 * exceeded after 2.001s,name resolution: …"), different on every retry, so every retry's event
 * would be a new Event object. Go reports the same case as "context deadline exceeded": use that.
 */
function clientSideDetails(code: number, details: string): string {
  if (code === GrpcCode.DeadlineExceeded && /^Deadline exceeded after /.test(details)) return 'context deadline exceeded';
  return details;
}

function toCallError(method: string, err: unknown): CsiCallError | Error {
  if (err instanceof CsiCallError) return err;
  const status = grpcStatusOf(err);
  if (status) return new CsiCallError(method, status.code, clientSideDetails(status.code, status.details), { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
