// Names the attacher shares with Kubernetes and with the Go external-attacher: they must match
// byte for byte, or objects written by one would not be recognised by the other.

/** VolumeAttachment annotation with the CSI node ID used at attach time (the detach fallback). */
export const VA_NODE_ID_ANNOTATION = 'csi.alpha.kubernetes.io/node-id';

/** PV annotation kube-controller-manager sets on in-tree PVs migrated to a CSI driver. */
export const MIGRATED_TO_ANNOTATION = 'pv.kubernetes.io/migrated-to';

/**
 * The driver name made safe for finalizer and lease names: every character outside
 * [a-zA-Z0-9-] becomes '-', and a trailing '-' gets an 'X' appended.
 */
export function sanitizeDriverName(driver: string): string {
  const name = driver.replace(/[^a-zA-Z0-9-]/g, '-');
  return name.endsWith('-') ? `${name}X` : name;
}

/** The finalizer the attacher puts on VolumeAttachments and PersistentVolumes. */
export function attacherFinalizer(driver: string): string {
  return `external-attacher/${sanitizeDriverName(driver)}`;
}

/** The Lease the attacher replicas compete for (the lead wires leader election with it). */
export function attacherLeaseName(driver: string): string {
  return `external-attacher-leader-${sanitizeDriverName(driver)}`;
}

/** Work-queue names; also the `name` label of the workqueue_* metrics. */
export const VA_QUEUE_NAME = 'csi-attacher-va';
export const PV_QUEUE_NAME = 'csi-attacher-pv';
