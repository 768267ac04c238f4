// Kubernetes objects as they travel on the wire and sit in our caches: the shapes of
// @kubernetes/client-node's models, with every timestamp a string (RFC 3339) as in the JSON the
// API server sends. Our reflector and API helpers move plain JSON; client-node's typed models
// would turn timestamps into Date objects, so using them as-is would lie about the data.
import type {
  CoreV1Event,
  EventsV1Event,
  V1CSIDriver,
  V1CSINode,
  V1CSIStorageCapacity,
  V1Lease,
  V1Node,
  V1ObjectMeta,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1StatefulSet,
  V1StorageClass,
  V1VolumeAttachment,
  V1VolumeAttributesClass,
} from '@kubernetes/client-node';

/** T with Date replaced by string, recursively; methods and class-only statics dropped. */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends Map<infer K, infer V>
      ? Map<K, Wire<V>>
      : T extends object
        ? { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Wire<T[K]> }
        : T;

export type ObjectMetaWire = Wire<V1ObjectMeta>;
export type PersistentVolumeClaim = Wire<V1PersistentVolumeClaim>;
export type PersistentVolume = Wire<V1PersistentVolume>;
export type StorageClass = Wire<V1StorageClass>;
export type VolumeAttachment = Wire<V1VolumeAttachment>;
export type CSINode = Wire<V1CSINode>;
export type CSIDriver = Wire<V1CSIDriver>;
export type CSIStorageCapacity = Wire<V1CSIStorageCapacity>;
export type VolumeAttributesClass = Wire<V1VolumeAttributesClass>;
export type Node = Wire<V1Node>;
export type Pod = Wire<V1Pod>;
export type Secret = Wire<V1Secret>;
export type Lease = Wire<V1Lease>;
export type StatefulSet = Wire<V1StatefulSet>;
export type CoreEvent = Wire<CoreV1Event>;
export type Event = Wire<EventsV1Event>;

/** VolumeSnapshot / VolumeSnapshotContent (snapshot.storage.k8s.io/v1): CRDs, not in client-node. */
export interface VolumeSnapshot {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaWire;
  spec?: {
    source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string; time?: string };
  };
}

export interface VolumeSnapshotContent {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaWire;
  spec?: {
    driver?: string;
    deletionPolicy?: 'Delete' | 'Retain';
    source?: { volumeHandle?: string; snapshotHandle?: string };
    sourceVolumeMode?: 'Filesystem' | 'Block';
    volumeSnapshotRef?: { name?: string; namespace?: string; uid?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    snapshotHandle?: string;
    readyToUse?: boolean;
    restoreSize?: number;
    creationTime?: number;
    error?: { message?: string; time?: string };
  };
}
