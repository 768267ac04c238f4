// LeaseClient over @kubernetes/client-node's CoordinationV1Api. Two things the generated client
// does not do for us: MicroTime fields (acquireTime, renewTime) are neither parsed on read nor
// written with the microsecond precision the API server expects, and there is no per-call
// AbortSignal parameter (a request middleware sets it).
// Type imports only: loading client-node costs ~75 MiB of RSS, and the sidecars use
// lease-client-kube.ts instead (ADR 7).
import type { CoordinationV1Api, Observable, V1Lease } from '@kubernetes/client-node';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node';
import { errorText } from '../logging/logger.js';
import { LeaseClientError, type LeaseObject, type LeaseClient, type LeaseSpec } from './lease.js';

/** The three CoordinationV1Api calls leader election makes. */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

type CallOptions = Parameters<CoordinationV1Api['readNamespacedLease']>[1];

export function leaseClientFromApi(api: LeaseApi): LeaseClient {
  return {
    async get(namespace, name, signal) {
      try {
        return fromApi(await api.readNamespacedLease({ namespace, name }, withSignal(signal)), namespace, name);
      } catch (err) {
        throw toLeaseError('get', namespace, name, err);
      }
    },
    async create(lease, signal) {
      const { namespace, name } = lease.metadata;
      try {
        return fromApi(await api.createNamespacedLease({ namespace, body: toApi(lease) }, withSignal(signal)), namespace, name);
      } catch (err) {
        throw toLeaseError('create', namespace, name, err);
      }
    },
    async update(lease, signal) {
      const { namespace, name } = lease.metadata;
      try {
        return fromApi(await api.replaceNamespacedLease({ namespace, name, body: toApi(lease) }, withSignal(signal)), namespace, name);
      } catch (err) {
        throw toLeaseError('update', namespace, name, err);
      }
    },
  };
}

/** The shape of client-node's promise-backed Observable stub, which its middleware chain calls. */
class PromiseObservable<T> {
  readonly promise: Promise<T>;

  constructor(promise: Promise<T>) {
    this.promise = promise;
  }

  toPromise(): Promise<T> {
    return this.promise;
  }

  pipe<S>(callback: (value: T) => S | PromiseLike<S>): PromiseObservable<S> {
    return new PromiseObservable(this.promise.then(callback));
  }
}

const observable = <T>(value: T): Observable<T> => new PromiseObservable(Promise.resolve(value)) as unknown as Observable<T>;

function withSignal(signal: AbortSignal | undefined): CallOptions {
  if (!signal) return undefined;
  return {
    middleware: [
      {
        pre(ctx: RequestContext) {
          // Keep a signal set by an earlier middleware (e.g. a per-request timeout) in force.
          const existing = ctx.getSignal();
          ctx.setSignal(existing ? AbortSignal.any([existing, signal]) : signal);
          return observable(ctx);
        },
        post(rsp: ResponseContext) {
          return observable(rsp);
        },
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** RFC 3339 with microseconds, the MicroTime wire format. */
export function formatMicroTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function parseTime(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : new Date(v.getTime());
  if (typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

function fromApi(v: V1Lease, namespace: string, name: string): LeaseObject {
  const spec = v.spec;
  const out: LeaseObject = {
    apiVersion: v.apiVersion ?? 'coordination.k8s.io/v1',
    kind: v.kind ?? 'Lease',
    metadata: { ...(v.metadata ?? {}), name: v.metadata?.name ?? name, namespace: v.metadata?.namespace ?? namespace },
  };
  if (spec) {
    const s: LeaseSpec = {};
    if (spec.holderIdentity !== undefined) s.holderIdentity = spec.holderIdentity;
    if (spec.leaseDurationSeconds !== undefined) s.leaseDurationSeconds = spec.leaseDurationSeconds;
    if (spec.leaseTransitions !== undefined) s.leaseTransitions = spec.leaseTransitions;
    if (spec.preferredHolder !== undefined) s.preferredHolder = spec.preferredHolder;
    if (spec.strategy !== undefined) s.strategy = spec.strategy;
    // The generated deserializer leaves MicroTime values as strings despite the Date typing.
    const acquire = parseTime(spec.acquireTime as unknown);
    const renew = parseTime(spec.renewTime as unknown);
    if (acquire) s.acquireTime = acquire;
    if (renew) s.renewTime = renew;
    out.spec = s;
  }
  return out;
}

function toApi(lease: LeaseObject): V1Lease {
  const spec = lease.spec ?? {};
  const body: Record<string, unknown> = { ...spec };
  // The serializer passes unknown types through untouched, so a preformatted string goes out as is.
  if (spec.acquireTime) body.acquireTime = formatMicroTime(spec.acquireTime);
  if (spec.renewTime) body.renewTime = formatMicroTime(spec.renewTime);
  return {
    apiVersion: lease.apiVersion ?? 'coordination.k8s.io/v1',
    kind: lease.kind ?? 'Lease',
    metadata: lease.metadata,
    spec: body,
  } as V1Lease;
}

function toLeaseError(op: string, namespace: string, name: string, err: unknown): LeaseClientError {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') {
    const body = (err as { body?: unknown }).body;
    const detail = body === undefined ? errorText(err) : statusMessage(body);
    return new LeaseClientError(`${op} Lease ${namespace}/${name}: HTTP ${code}: ${detail}`, code, { cause: err });
  }
  return new LeaseClientError(`${op} Lease ${namespace}/${name}: ${errorText(err)}`, undefined, { cause: err });
}

/** The `message` of a Status body (object or JSON text), else a short rendering of the body. */
function statusMessage(body: unknown): string {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return body.slice(0, 300);
    }
  }
  if (b && typeof b === 'object' && typeof (b as { message?: unknown }).message === 'string') return (b as { message: string }).message;
  return 'no status message';
}
