// An in-memory Lease API with resourceVersion checks, for tests. Several clients can share one
// store (one per candidate), each with its own fault switches.
import { LeaseClientError, type LeaseObject, type LeaseClient } from './lease.js';

export class InMemoryLeaseStore {
  readonly #leases = new Map<string, LeaseObject>();
  #rv = 0;

  client(): InMemoryLeaseClient {
    return new InMemoryLeaseClient(this);
  }

  /** A copy of the stored Lease, for assertions. */
  peek(namespace: string, name: string): LeaseObject | undefined {
    const l = this.#leases.get(`${namespace}/${name}`);
    return l && structuredClone(l);
  }

  /** Writes a Lease directly (another writer), bumping its resourceVersion. */
  put(lease: LeaseObject): LeaseObject {
    const stored = structuredClone(lease);
    stored.metadata.resourceVersion = String(++this.#rv);
    this.#leases.set(`${lease.metadata.namespace}/${lease.metadata.name}`, stored);
    return structuredClone(stored);
  }

  /** @internal */
  read(namespace: string, name: string): LeaseObject | undefined {
    return this.#leases.get(`${namespace}/${name}`);
  }
}

export interface LeaseClientFaults {
  /** Thrown by the next calls of that kind while set. */
  get?: unknown;
  create?: unknown;
  update?: unknown;
  /** Calls never answer (an unreachable API server); they reject only when their signal aborts. */
  hang?: boolean;
}

export class InMemoryLeaseClient implements LeaseClient {
  readonly faults: LeaseClientFaults = {};
  readonly calls = { get: 0, create: 0, update: 0 };

  constructor(private readonly store: InMemoryLeaseStore) {}

  async get(namespace: string, name: string, signal?: AbortSignal): Promise<LeaseObject> {
    this.calls.get++;
    await this.#gate('get', signal);
    const l = this.store.read(namespace, name);
    if (!l) throw new LeaseClientError(`leases "${name}" not found`, 404);
    return structuredClone(l);
  }

  async create(lease: LeaseObject, signal?: AbortSignal): Promise<LeaseObject> {
    this.calls.create++;
    await this.#gate('create', signal);
    const { namespace, name } = lease.metadata;
    if (this.store.read(namespace, name)) throw new LeaseClientError(`leases "${name}" already exists`, 409);
    return this.store.put(lease);
  }

  async update(lease: LeaseObject, signal?: AbortSignal): Promise<LeaseObject> {
    this.calls.update++;
    await this.#gate('update', signal);
    const { namespace, name, resourceVersion } = lease.metadata;
    const current = this.store.read(namespace, name);
    if (!current) throw new LeaseClientError(`leases "${name}" not found`, 404);
    if (resourceVersion !== current.metadata.resourceVersion) {
      throw new LeaseClientError(`Operation cannot be fulfilled on leases "${name}": the object has been modified`, 409);
    }
    return this.store.put(lease);
  }

  async #gate(op: 'get' | 'create' | 'update', signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.faults.hang) {
      await new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    const fault = this.faults[op];
    if (fault !== undefined) throw fault;
  }
}
