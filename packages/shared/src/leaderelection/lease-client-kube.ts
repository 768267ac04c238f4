// LeaseClient on raw JSON requests (KubeClient.request): what the sidecars use, so leader
// election does not load @kubernetes/client-node's generated classes (ADR 7). MicroTime fields
// (acquireTime, renewTime) are parsed on read and written with the microseconds the API server
// expects; everything else the server sent is kept so a replace (PUT) drops nothing.
import type { KubeRequester } from '../kube/crud.js';
import { createObject, getObject, updateObject } from '../kube/crud.js';
import { KubeApiError } from '../kube/errors.js';
import { LEASES } from '../kube/resources.js';
import { errorText } from '../logging/logger.js';
import { formatMicroTime } from './lease-client-api.js';
import { LeaseClientError, type LeaseClient, type LeaseObject, type LeaseSpec } from './lease.js';

interface WireLease {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown> & { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

export function leaseClientFromKube(kube: KubeRequester): LeaseClient {
  return {
    async get(namespace, name, signal) {
      try {
        return fromWire(await getObject<WireLease & { metadata: { name: string } }>(kube, LEASES, name, namespace, { signal }), namespace, name);
      } catch (err) {
        throw toLeaseError('get', namespace, name, err);
      }
    },
    async create(lease, signal) {
      const { namespace, name } = lease.metadata;
      try {
        return fromWire(await createObject(kube, LEASES, toWire(lease), { signal }), namespace, name);
      } catch (err) {
        throw toLeaseError('create', namespace, name, err);
      }
    },
    async update(lease, signal) {
      const { namespace, name } = lease.metadata;
      try {
        return fromWire(await updateObject(kube, LEASES, toWire(lease), { signal }), namespace, name);
      } catch (err) {
        throw toLeaseError('update', namespace, name, err);
      }
    },
  };
}

function parseTime(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function fromWire(v: WireLease, namespace: string, name: string): LeaseObject {
  const out: LeaseObject = {
    apiVersion: v.apiVersion ?? 'coordination.k8s.io/v1',
    kind: v.kind ?? 'Lease',
    metadata: { ...(v.metadata ?? {}), name: v.metadata?.name ?? name, namespace: v.metadata?.namespace ?? namespace },
  };
  const spec = v.spec;
  if (spec) {
    const s: LeaseSpec = {};
    if (typeof spec.holderIdentity === 'string') s.holderIdentity = spec.holderIdentity;
    if (typeof spec.leaseDurationSeconds === 'number') s.leaseDurationSeconds = spec.leaseDurationSeconds;
    if (typeof spec.leaseTransitions === 'number') s.leaseTransitions = spec.leaseTransitions;
    if (typeof spec.preferredHolder === 'string') s.preferredHolder = spec.preferredHolder;
    if (typeof spec.strategy === 'string') s.strategy = spec.strategy;
    const acquire = parseTime(spec.acquireTime);
    const renew = parseTime(spec.renewTime);
    if (acquire) s.acquireTime = acquire;
    if (renew) s.renewTime = renew;
    out.spec = s;
  }
  return out;
}

function toWire(lease: LeaseObject): WireLease & { metadata: { name: string; namespace: string } } {
  const spec = lease.spec ?? {};
  const body: Record<string, unknown> = { ...spec };
  if (spec.acquireTime) body.acquireTime = formatMicroTime(spec.acquireTime);
  if (spec.renewTime) body.renewTime = formatMicroTime(spec.renewTime);
  return { apiVersion: lease.apiVersion ?? 'coordination.k8s.io/v1', kind: lease.kind ?? 'Lease', metadata: lease.metadata, spec: body };
}

function toLeaseError(op: string, namespace: string, name: string, err: unknown): LeaseClientError {
  if (err instanceof KubeApiError) {
    return new LeaseClientError(`${op} Lease ${namespace}/${name}: HTTP ${err.code}: ${err.status?.message ?? err.message}`, err.code, { cause: err });
  }
  return new LeaseClientError(`${op} Lease ${namespace}/${name}: ${errorText(err)}`, undefined, { cause: err });
}
