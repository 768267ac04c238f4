// Names the provisioner shares with Kubernetes and the Go sidecar: annotations, finalizers,
// StorageClass parameter keys. Changing any of them breaks drop-in compatibility.

/** Written by kube-controller-manager: which provisioner should handle the claim. */
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
/** Written by the scheduler for WaitForFirstConsumer claims. */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_ALPHA_SELECTED_NODE = 'volume.alpha.kubernetes.io/selected-node';
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
/** On every PV we create: who provisioned it (our deletion path keys on it). */
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_DELETION_SECRET_NAME = 'volume.kubernetes.io/provisioner-deletion-secret-name';
export const ANN_DELETION_SECRET_NAMESPACE = 'volume.kubernetes.io/provisioner-deletion-secret-namespace';
export const ANN_MODIFY_SECRET_NAME = 'volume.kubernetes.io/controller-modify-secret-name';
export const ANN_MODIFY_SECRET_NAMESPACE = 'volume.kubernetes.io/controller-modify-secret-namespace';
export const ANN_ALLOW_VOLUME_MODE_CHANGE = 'snapshot.storage.kubernetes.io/allow-volume-mode-change';

/** volumeAttributes key with the identity of the provisioner instance that created the volume. */
export const PROVISIONER_IDENTITY_KEY = 'storage.kubernetes.io/csiProvisionerIdentity';

export const PV_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
export const CLONE_FINALIZER = 'provisioner.storage.kubernetes.io/cloning-protection';
export const SNAPSHOT_SOURCE_FINALIZER = 'provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection';
/**
 * Ours, opt-in (--provisioning-protection-finalizer, the design of KEP-2994): on a claim while a
 * volume may exist for it that no PV describes yet, so deleting the claim waits for the cleanup.
 */
export const PROVISIONING_PROTECTION_FINALIZER = 'csi-sidecars-ts.io/provisioning-protection';

export const CSI_PARAMETER_PREFIX = 'csi.storage.k8s.io/';
export const PARAM_FSTYPE = `${CSI_PARAMETER_PREFIX}fstype`;
export const PARAM_PVC_NAME = `${CSI_PARAMETER_PREFIX}pvc/name`;
export const PARAM_PVC_NAMESPACE = `${CSI_PARAMETER_PREFIX}pvc/namespace`;
export const PARAM_PV_NAME = `${CSI_PARAMETER_PREFIX}pv/name`;

export const SNAPSHOT_KIND = 'VolumeSnapshot';
export const SNAPSHOT_API_GROUP = 'snapshot.storage.k8s.io';
export const PVC_KIND = 'PersistentVolumeClaim';

/** Event reasons (the Go sidecar's, verbatim). */
export const REASON_PROVISIONING = 'Provisioning';
export const REASON_PROVISIONING_FAILED = 'ProvisioningFailed';
export const REASON_PROVISIONING_SUCCEEDED = 'ProvisioningSucceeded';
export const REASON_VOLUME_FAILED_DELETE = 'VolumeFailedDelete';
/** Ours: a volume created for a claim could not be kept and was deleted again. */
export const REASON_PROVISIONING_CLEANUP = 'ProvisioningCleanup';
