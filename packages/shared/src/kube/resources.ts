// Which API resource a call or an informer is about, as a small value instead of a typed client
// class: the reflector, the patch helpers and the fake apiserver all build URLs from it.

export interface ResourceDescriptor {
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in URLs, e.g. 'persistentvolumeclaims'. */
  readonly plural: string;
  /** Kind of one object, e.g. 'PersistentVolumeClaim' (list items come back without it). */
  readonly kind: string;
  readonly namespaced: boolean;
}

function res(group: string, version: string, plural: string, kind: string, namespaced: boolean): ResourceDescriptor {
  return Object.freeze({ group, version, plural, kind, namespaced });
}

export const PERSISTENT_VOLUME_CLAIMS = res('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true);
export const PERSISTENT_VOLUMES = res('', 'v1', 'persistentvolumes', 'PersistentVolume', false);
export const NODES = res('', 'v1', 'nodes', 'Node', false);
export const PODS = res('', 'v1', 'pods', 'Pod', true);
export const SECRETS = res('', 'v1', 'secrets', 'Secret', true);
export const EVENTS = res('', 'v1', 'events', 'Event', true);
export const NAMESPACES = res('', 'v1', 'namespaces', 'Namespace', false);
export const EVENTS_V1 = res('events.k8s.io', 'v1', 'events', 'Event', true);
export const STORAGE_CLASSES = res('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false);
export const VOLUME_ATTACHMENTS = res('storage.k8s.io', 'v1', 'volumeattachments', 'VolumeAttachment', false);
export const CSI_NODES = res('storage.k8s.io', 'v1', 'csinodes', 'CSINode', false);
export const CSI_DRIVERS = res('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', false);
export const CSI_STORAGE_CAPACITIES = res('storage.k8s.io', 'v1', 'csistoragecapacities', 'CSIStorageCapacity', true);
/** What clusters before Kubernetes 1.24 serve (the provisioner detects which one at start-up). */
export const CSI_STORAGE_CAPACITIES_V1BETA1 = res('storage.k8s.io', 'v1beta1', 'csistoragecapacities', 'CSIStorageCapacity', true);
/** GA in Kubernetes 1.34; older clusters serve only v1beta1 (see VOLUME_ATTRIBUTES_CLASSES_V1BETA1). */
export const VOLUME_ATTRIBUTES_CLASSES = res('storage.k8s.io', 'v1', 'volumeattributesclasses', 'VolumeAttributesClass', false);
export const VOLUME_ATTRIBUTES_CLASSES_V1BETA1 = res('storage.k8s.io', 'v1beta1', 'volumeattributesclasses', 'VolumeAttributesClass', false);
export const LEASES = res('coordination.k8s.io', 'v1', 'leases', 'Lease', true);
export const VOLUME_SNAPSHOTS = res('snapshot.storage.k8s.io', 'v1', 'volumesnapshots', 'VolumeSnapshot', true);
export const VOLUME_SNAPSHOT_CONTENTS = res('snapshot.storage.k8s.io', 'v1', 'volumesnapshotcontents', 'VolumeSnapshotContent', false);
export const VOLUME_SNAPSHOT_CLASSES = res('snapshot.storage.k8s.io', 'v1', 'volumesnapshotclasses', 'VolumeSnapshotClass', false);
/** Gateway API CRD; the provisioner reads it for cross-namespace data sources (CrossNamespaceVolumeDataSource). */
export const REFERENCE_GRANTS = res('gateway.networking.k8s.io', 'v1beta1', 'referencegrants', 'ReferenceGrant', true);

/** 'v1' for the core group, 'group/version' otherwise: the apiVersion field of an object. */
export function apiVersionOf(resource: ResourceDescriptor): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** A stable text form, e.g. 'storage.k8s.io/v1/volumeattachments' or 'v1/pods'. */
export function resourceId(resource: ResourceDescriptor): string {
  return `${apiVersionOf(resource)}/${resource.plural}`;
}

export interface ResourcePathOptions {
  /** Required for a namespaced resource when `name` is given; omit to address all namespaces. */
  namespace?: string;
  name?: string;
  /** e.g. 'status'. */
  subresource?: string;
}

/**
 * The URL path of a collection, an object or an object's subresource, e.g.
 * /api/v1/namespaces/ns/persistentvolumeclaims/claim/status.
 */
export function resourcePath(resource: ResourceDescriptor, opts: ResourcePathOptions = {}): string {
  const prefix = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const parts = [prefix];
  if (resource.namespaced) {
    if (opts.namespace) parts.push('namespaces', encodeURIComponent(opts.namespace));
    else if (opts.name !== undefined) {
      throw new Error(`${resource.kind} ${JSON.stringify(opts.name)}: a namespace is required for the namespaced resource ${resourceId(resource)}`);
    }
  } else if (opts.namespace) {
    throw new Error(`${resource.kind} is cluster-scoped (${resourceId(resource)}); got namespace ${JSON.stringify(opts.namespace)}`);
  }
  parts.push(resource.plural);
  if (opts.name !== undefined) {
    if (opts.name === '') throw new Error(`${resource.kind}: empty object name`);
    parts.push(encodeURIComponent(opts.name));
    if (opts.subresource) parts.push(opts.subresource);
  } else if (opts.subresource) {
    throw new Error(`${resource.kind}: subresource ${JSON.stringify(opts.subresource)} needs an object name`);
  }
  return parts.join('/');
}
