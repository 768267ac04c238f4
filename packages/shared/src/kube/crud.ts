// Object calls addressed by a ResourceDescriptor, on the raw request path: the typed client-node
// calls pick wrong patch content types and lack a generic subresource, and these work the same
// for CRDs (VolumeSnapshot) as for built-in kinds.

import type { KubeObject } from './object.js';
import { describeObject } from './object.js';
import type { JsonPatchOp } from './patch.js';
import type { ResourceDescriptor } from './resources.js';
import { apiVersionOf, resourcePath } from './resources.js';
import type { KubeRequest } from './transport.js';
import type { RetryOptions } from './retry.js';
import { retryOnConflict } from './retry.js';

/** Anything that can send a raw JSON request: a KubeClient satisfies it. */
export interface KubeRequester {
  request<T = unknown>(req: KubeRequest): Promise<T>;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WriteOptions {
  /** metav1 fieldManager, required for 'apply' patches. */
  fieldManager?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface PatchOptions extends WriteOptions {
  subresource?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

function writeQuery(opts: WriteOptions & { force?: boolean }): Record<string, string | boolean | undefined> {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined, force: opts.force };
}

function nameOf(obj: KubeObject, resource: ResourceDescriptor): { name: string; namespace: string | undefined } {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${resource.kind}: object has no metadata.name`);
  return { name, namespace: resource.namespaced ? obj.metadata?.namespace : undefined };
}

export function getObject<T extends KubeObject>(
  client: KubeRequester,
  resource: ResourceDescriptor,
  name: string,
  namespace?: string,
  opts: { signal?: AbortSignal } = {},
): Promise<T> {
  return client.request<T>({ method: 'GET', path: resourcePath(resource, { name, namespace }), signal: opts.signal });
}

export function createObject<T extends KubeObject>(client: KubeRequester, resource: ResourceDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
  const namespace = resource.namespaced ? obj.metadata?.namespace : undefined;
  if (resource.namespaced && !namespace) throw new Error(`${describeObject(obj)}: metadata.namespace is required to create a ${resource.kind}`);
  const body = { apiVersion: apiVersionOf(resource), kind: resource.kind, ...obj };
  return client.request<T>({ method: 'POST', path: resourcePath(resource, { namespace }), query: writeQuery(opts), body, signal: opts.signal });
}

/** PUT; the object's metadata.resourceVersion makes it conditional (409 if the object changed). */
export function updateObject<T extends KubeObject>(
  client: KubeRequester,
  resource: ResourceDescriptor,
  obj: T,
  opts: WriteOptions & { subresource?: string } = {},
): Promise<T> {
  const { name, namespace } = nameOf(obj, resource);
  if (!obj.metadata?.resourceVersion) {
    throw new Error(`${describeObject(obj)}: update needs metadata.resourceVersion (an unconditional PUT could overwrite a newer object)`);
  }
  const body = { apiVersion: apiVersionOf(resource), kind: resource.kind, ...obj };
  return client.request<T>({
    method: 'PUT',
    path: resourcePath(resource, { name, namespace, subresource: opts.subresource }),
    query: writeQuery(opts),
    body,
    signal: opts.signal,
  });
}

/** PUT to the status subresource, conditional on metadata.resourceVersion. */
export function updateStatus<T extends KubeObject>(client: KubeRequester, resource: ResourceDescriptor, obj: T, opts: WriteOptions = {}): Promise<T> {
  return updateObject(client, resource, obj, { ...opts, subresource: 'status' });
}

/**
 * PATCH with an explicit content type. `patch` is a merge/strategic patch object, a JSON patch op
 * list, or an apply configuration, matching `type`.
 */
export function patchObject<T extends KubeObject>(
  client: KubeRequester,
  resource: ResourceDescriptor,
  name: string,
  namespace: string | undefined,
  patch: Record<string, unknown> | readonly JsonPatchOp[],
  type: PatchType,
  opts: PatchOptions = {},
): Promise<T> {
  if (type === 'json' && !Array.isArray(patch)) throw new Error(`${resource.kind} ${name}: a JSON patch must be a list of operations`);
  if (type !== 'json' && Array.isArray(patch)) throw new Error(`${resource.kind} ${name}: a ${type} patch must be an object`);
  if (type === 'apply' && !opts.fieldManager) throw new Error(`${resource.kind} ${name}: server-side apply needs a fieldManager`);
  return client.request<T>({
    method: 'PATCH',
    path: resourcePath(resource, { name, namespace: resource.namespaced ? namespace : undefined, subresource: opts.subresource }),
    query: writeQuery(opts),
    body: patch,
    contentType: PATCH_CONTENT_TYPES[type],
    signal: opts.signal,
  });
}

export interface DeleteOptions {
  /** Delete only this incarnation / this version of the object (409 otherwise). */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export function deleteObject(
  client: KubeRequester,
  resource: ResourceDescriptor,
  name: string,
  namespace?: string,
  opts: DeleteOptions = {},
): Promise<unknown> {
  const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
  if (opts.preconditions) body.preconditions = opts.preconditions;
  if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.dryRun) body.dryRun = ['All'];
  return client.request({ method: 'DELETE', path: resourcePath(resource, { name, namespace }), body, signal: opts.signal });
}

/**
 * Read-modify-write with conflict retry: GETs the object, lets `mutate` change a copy (return
 * undefined to leave it alone), and PUTs it (to the status subresource with `status: true`).
 * Returns the stored object.
 */
export async function modifyObject<T extends KubeObject>(
  client: KubeRequester,
  resource: ResourceDescriptor,
  name: string,
  namespace: string | undefined,
  mutate: (current: T) => T | undefined | Promise<T | undefined>,
  opts: RetryOptions & WriteOptions & { status?: boolean } = {},
): Promise<T> {
  return retryOnConflict(async () => {
    const current = await getObject<T>(client, resource, name, namespace, { signal: opts.signal });
    const changed = await mutate(structuredClone(current));
    if (changed === undefined) return current;
    return updateObject(client, resource, changed, { ...opts, subresource: opts.status ? 'status' : undefined });
  }, opts);
}
