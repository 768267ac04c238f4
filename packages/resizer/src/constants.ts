// Names the Go external-resizer writes into objects and events. They are part of the drop-in
// contract: kubelet, kube-controller-manager, dashboards and users' scripts match on them.

/** PVC annotation set by kube-controller-manager's expand controller: which resizer owns the PVC. */
export const ANN_STORAGE_RESIZER = 'volume.kubernetes.io/storage-resizer';
/** PV annotation: PVC capacity before a resize that still needs the node step (AnnotateFsResize). */
export const ANN_PRE_RESIZE_CAPACITY = 'volume.alpha.kubernetes.io/pre-resize-capacity';
/** PVC annotation telling kubelet it may skip NodeExpandVolume. */
export const ANN_NODE_EXPANSION_NOT_REQUIRED = 'volume.kubernetes.io/node-expansion-not-required';
/** PV annotations written by external-provisioner from the controller-modify secret parameters. */
export const ANN_MODIFY_SECRET_NAME = 'volume.kubernetes.io/controller-modify-secret-name';
export const ANN_MODIFY_SECRET_NAMESPACE = 'volume.kubernetes.io/controller-modify-secret-namespace';

/** Keys added to ControllerModifyVolume's mutable parameters with --extra-modify-metadata. */
export const MODIFY_PARAM_PVC_NAME = 'csi.storage.k8s.io/pvc/name';
export const MODIFY_PARAM_PVC_NAMESPACE = 'csi.storage.k8s.io/pvc/namespace';
export const MODIFY_PARAM_PV_NAME = 'csi.storage.k8s.io/pv/name';

export const STORAGE = 'storage';

/** PVC condition types. */
export const Condition = {
  Resizing: 'Resizing',
  FileSystemResizePending: 'FileSystemResizePending',
  ControllerResizeError: 'ControllerResizeError',
  NodeResizeError: 'NodeResizeError',
  ModifyingVolume: 'ModifyingVolume',
  ModifyVolumeError: 'ModifyVolumeError',
} as const;

/** The condition types a resize owns: rewriting the resize state replaces these. */
export const RESIZE_CONDITIONS: ReadonlySet<string> = new Set([
  Condition.Resizing,
  Condition.FileSystemResizePending,
  Condition.ControllerResizeError,
  Condition.NodeResizeError,
]);

/** Values of status.allocatedResourceStatuses["storage"]. */
export const ResizeStatus = {
  ControllerResizeInProgress: 'ControllerResizeInProgress',
  ControllerResizeInfeasible: 'ControllerResizeInfeasible',
  NodeResizePending: 'NodeResizePending',
  NodeResizeInProgress: 'NodeResizeInProgress',
  NodeResizeInfeasible: 'NodeResizeInfeasible',
} as const;

/** Values of status.modifyVolumeStatus.status. */
export const ModifyStatus = {
  Pending: 'Pending',
  InProgress: 'InProgress',
  Infeasible: 'Infeasible',
} as const;

/** Event reasons (pkg/util/events.go in the Go resizer). */
export const EventReason = {
  Resizing: 'Resizing',
  VolumeResizeFailed: 'VolumeResizeFailed',
  VolumeResizeSuccessful: 'VolumeResizeSuccessful',
  FileSystemResizeRequired: 'FileSystemResizeRequired',
  VolumeModify: 'VolumeModify',
  VolumeModifyFailed: 'VolumeModifyFailed',
  VolumeModifySuccessful: 'VolumeModifySuccessful',
  VolumeModifyCanceled: 'VolumeModifyCanceled',
} as const;

export const FS_RESIZE_PENDING_MESSAGE = 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.';

/**
 * Drivers that csi-translation-lib knows as CSI-migration targets of in-tree plugins. For these
 * the resizer also serves in-tree PVs whose PVC names it in volume.kubernetes.io/storage-resizer,
 * and the operations metric gets the `migrated` label.
 */
export const MIGRATED_CSI_DRIVERS: ReadonlySet<string> = new Set([
  'ebs.csi.aws.com',
  'disk.csi.azure.com',
  'file.csi.azure.com',
  'pd.csi.storage.gke.io',
  'cinder.csi.openstack.org',
  'pxd.portworx.com',
  'csi.vsphere.vmware.com',
]);

export function isMigratedCsiDriver(driverName: string): boolean {
  return MIGRATED_CSI_DRIVERS.has(driverName);
}
