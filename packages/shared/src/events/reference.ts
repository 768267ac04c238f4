// ObjectReference from a cached object. Objects that came from a list carry no kind/apiVersion
// (the apiserver leaves them out of list items), so the resource descriptor supplies them.

import type { KubeObject } from '../kube/object.js';
import type { ResourceDescriptor } from '../kube/resources.js';
import { apiVersionOf } from '../kube/resources.js';
import type { ObjectReference } from './types.js';

/**
 * The reference client-go's GetReference builds: kind, apiVersion, namespace, name, uid and
 * resourceVersion of the object. Throws when neither the object nor `resource` names the kind,
 * or the object has no name (the recorder needs both to file the event).
 */
export function objectReference(obj: KubeObject, resource?: ResourceDescriptor): ObjectReference {
  const kind = obj.kind || resource?.kind;
  const apiVersion = obj.apiVersion || (resource ? apiVersionOf(resource) : undefined);
  const name = obj.metadata?.name;
  if (!kind || !apiVersion) throw new Error(`cannot reference object ${name ?? '<unnamed>'}: kind/apiVersion unknown (pass its resource descriptor)`);
  if (!name) throw new Error(`cannot reference a ${kind} without metadata.name`);
  const ref: ObjectReference = { kind, apiVersion, name };
  const md = obj.metadata;
  if (md?.namespace) ref.namespace = md.namespace;
  if (md?.uid) ref.uid = md.uid;
  if (md?.resourceVersion) ref.resourceVersion = md.resourceVersion;
  return ref;
}
