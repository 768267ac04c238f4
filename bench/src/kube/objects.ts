// The API objects the scenarios create, shaped like the ones the real controllers produce, so a
// sidecar sees exactly what it would see in a cluster.

export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_STORAGE_PROVISIONER_BETA = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_STORAGE_RESIZER = 'volume.kubernetes.io/storage-resizer';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const PROVISIONER_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
/** Put by admission on every PV and PVC; kube-controller-manager would add them otherwise. */
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';

/** Every object the bench creates carries this label; the idle data set is kept between runs. */
export const BENCH_LABEL = 'bench.csi-sidecars-ts/set';
export const KEEP_SET = 'keep';

export const GIB = 1024 ** 3;

export interface Labels {
  [key: string]: string;
}

export function storageClass(name: string, driver: string, binding: 'Immediate' | 'WaitForFirstConsumer', reclaim: 'Delete' | 'Retain' = 'Delete') {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, labels: { [BENCH_LABEL]: 'class' } },
    provisioner: driver,
    reclaimPolicy: reclaim,
    volumeBindingMode: binding,
    allowVolumeExpansion: true,
  };
}

/**
 * A claim for the provisioner. The storage-provisioner annotations are set at creation: KCM would
 * add them itself, but at its own client limit (QPS 20), which would then gate the sidecar.
 */
export function claim(name: string, namespace: string, sc: string, driver: string, set: string, extra: { volumeName?: string; size?: string; annotations?: Record<string, string> } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace,
      labels: { [BENCH_LABEL]: set },
      annotations: { [ANN_STORAGE_PROVISIONER]: driver, [ANN_STORAGE_PROVISIONER_BETA]: driver, ...extra.annotations },
      finalizers: [PVC_PROTECTION_FINALIZER],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: sc,
      resources: { requests: { storage: extra.size ?? '1Gi' } },
      ...(extra.volumeName ? { volumeName: extra.volumeName } : {}),
    },
  };
}

export interface ClaimRef {
  namespace: string;
  name: string;
  uid: string;
}

/** A PV as csi-provisioner makes it (annotation, finalizer), optionally bound to a claim. */
export function provisionedVolume(name: string, driver: string, handle: string, sc: string, set: string, claimRef?: ClaimRef, size = '1Gi') {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      labels: { [BENCH_LABEL]: set },
      annotations: { [ANN_PROVISIONED_BY]: driver },
      finalizers: [PV_PROTECTION_FINALIZER, PROVISIONER_FINALIZER],
    },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: sc,
      volumeMode: 'Filesystem',
      csi: { driver, volumeHandle: handle, fsType: 'ext4' },
      ...(claimRef ? { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', ...claimRef } } : {}),
    },
  };
}

export const BOUND_CLAIM_ANNOTATIONS = { [ANN_BIND_COMPLETED]: 'yes', [ANN_BOUND_BY_CONTROLLER]: 'yes' };

export function boundClaimStatus(size = '1Gi') {
  return { status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: size } } };
}

export function volumePhase(phase: 'Available' | 'Bound' | 'Released') {
  return { status: { phase } };
}

/** A pod that only consumes a claim (no kubelet runs it); the scheduler picks its node. */
export function consumerPod(name: string, namespace: string, claimName: string, set: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { [BENCH_LABEL]: set } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: 'none', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  };
}

export function volumeAttachment(name: string, driver: string, nodeName: string, pvName: string, set: string) {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'VolumeAttachment',
    metadata: { name, labels: { [BENCH_LABEL]: set } },
    spec: { attacher: driver, nodeName, source: { persistentVolumeName: pvName } },
  };
}

export const paths = {
  namespaces: '/api/v1/namespaces',
  namespace: (ns: string) => `/api/v1/namespaces/${ns}`,
  claims: (ns: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
  claim: (ns: string, name: string) => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`,
  pods: (ns: string) => `/api/v1/namespaces/${ns}/pods`,
  pod: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`,
  volumes: '/api/v1/persistentvolumes',
  volume: (name: string) => `/api/v1/persistentvolumes/${name}`,
  attachments: '/apis/storage.k8s.io/v1/volumeattachments',
  attachment: (name: string) => `/apis/storage.k8s.io/v1/volumeattachments/${name}`,
  storageClasses: '/apis/storage.k8s.io/v1/storageclasses',
  storageClass: (name: string) => `/apis/storage.k8s.io/v1/storageclasses/${name}`,
};
