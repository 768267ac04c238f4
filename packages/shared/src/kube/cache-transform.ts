// Cache transforms: what a sidecar keeps of the objects its informers cache. Each informer's
// transform runs on every listed and watched object (while a list is parsed, see list-parse.ts),
// so the cache holds only the trimmed form. A transform MUST keep identity and lifecycle metadata
// (name, namespace, uid, resourceVersion, generation, deletionTimestamp, finalizers, owner
// references) and every field any controller of the sidecar reads.
//
// Writes built from a cached object must not lose what was trimmed:
//   - dropManagedFields suits any cache: an update (PUT) without managedFields leaves the
//     server's managedFields as they are.
//   - dropBookkeeping also drops kubectl's last-applied-configuration annotation, so it suits
//     only caches whose objects are written back through patches computed from them (a PUT would
//     remove the annotation).
// Both return the object unchanged (same instance) when there is nothing to drop, and are
// module-level so shared informers see one transform identity.

import type { KubeObject } from './object.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Drops metadata.managedFields: read by no controller, often the largest part of an object. */
export function dropManagedFields<T extends KubeObject>(obj: KubeObject): T {
  const meta = obj.metadata;
  if (!meta || meta.managedFields === undefined) return obj as T;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...obj, metadata: rest } as T;
}

/**
 * managedFields and kubectl's last-applied-configuration annotation (a full copy of the object
 * as last applied). Only for caches written back through patches, never PUTs (see above).
 */
export function dropBookkeeping<T extends KubeObject>(obj: KubeObject): T {
  const meta = obj.metadata;
  const annotations = meta?.annotations;
  const hasLastApplied = annotations !== undefined && annotations !== null && LAST_APPLIED_ANNOTATION in annotations;
  if (!meta || (meta.managedFields === undefined && !hasLastApplied)) return obj as T;
  const { managedFields: _dropped, ...rest } = meta;
  if (hasLastApplied) {
    const { [LAST_APPLIED_ANNOTATION]: _lastApplied, ...keep } = annotations;
    rest.annotations = keep;
  }
  return { ...obj, metadata: rest } as T;
}

/**
 * dropBookkeeping, and a status nobody reads: for caches (e.g. the attacher's PersistentVolumes)
 * whose status no controller looks at and which are written back through patches only.
 */
export function dropBookkeepingAndStatus<T extends KubeObject>(obj: KubeObject): T {
  const trimmed = dropBookkeeping<KubeObject & { status?: unknown }>(obj);
  if (trimmed.status === undefined) return trimmed as unknown as T;
  const { status: _status, ...rest } = trimmed;
  return rest as unknown as T;
}
