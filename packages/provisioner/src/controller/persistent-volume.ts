// The PersistentVolume saved for a provisioned volume, built from the claim, its StorageClass
// and the driver's CreateVolume answer — field for field what the Go provisioner writes.

import { bytesToQuantity } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import {
  ANN_DELETION_SECRET_NAME,
  ANN_DELETION_SECRET_NAMESPACE,
  ANN_MODIFY_SECRET_NAME,
  ANN_MODIFY_SECRET_NAMESPACE,
  ANN_PROVISIONED_BY,
  PROVISIONER_IDENTITY_KEY,
  PV_FINALIZER,
} from './constants.js';
import { isBlockClaim } from './capabilities.js';
import { claimStorageClassName } from './claim-decision.js';
import type { SecretReference } from './secrets.js';
import type { VolumeNodeAffinity } from './topology.js';
import { volumeNodeAffinity } from './topology.js';

/** What CreateVolume answered (the parts the PV is built from). */
export interface CreatedVolume {
  volumeId: string;
  /** Bytes the volume has (0 = the driver did not say: the requested size is used). */
  capacityBytes: bigint;
  volumeContext: Readonly<Record<string, string>>;
  accessibleTopology: readonly { segments?: Readonly<Record<string, string>> | null }[];
}

export interface PvSecretRefs {
  controllerPublish?: SecretReference;
  nodeStage?: SecretReference;
  nodePublish?: SecretReference;
  controllerExpand?: SecretReference;
  nodeExpand?: SecretReference;
  /** The provisioner secret: recorded in annotations for DeleteVolume. */
  provisioner?: SecretReference;
  /** Recorded in annotations for the resizer's ControllerModifyVolume. */
  controllerModify?: SecretReference;
}

export interface BuildPvInput {
  pvName: string;
  claim: PersistentVolumeClaim;
  storageClass: StorageClass;
  driverName: string;
  identity: string;
  volume: CreatedVolume;
  requestedBytes: bigint;
  fsType: string;
  secrets: PvSecretRefs;
  readOnly: boolean;
  /** Topology in use (driver capability + feature gate): node affinity from accessible_topology. */
  supportsTopology: boolean;
  /** VolumeAttributesClass gate on and the claim names a class. */
  volumeAttributesClassName?: string;
}

/** client-go's ObjectReference of the claim, UID and resourceVersion included. */
export function claimReference(claim: PersistentVolumeClaim): NonNullable<NonNullable<PersistentVolume['spec']>['claimRef']> {
  const ref: NonNullable<NonNullable<PersistentVolume['spec']>['claimRef']> = {
    kind: 'PersistentVolumeClaim',
    namespace: claim.metadata?.namespace,
    name: claim.metadata?.name,
    uid: claim.metadata?.uid,
    apiVersion: 'v1',
  };
  if (claim.metadata?.resourceVersion) ref.resourceVersion = claim.metadata.resourceVersion;
  return ref;
}

export function buildPersistentVolume(input: BuildPvInput): PersistentVolume {
  const { claim, storageClass: sc, volume, secrets } = input;
  const capacity = volume.capacityBytes === 0n ? input.requestedBytes : volume.capacityBytes;
  const reclaimPolicy = sc.reclaimPolicy ?? 'Delete';
  const annotations: Record<string, string> = {
    // The claim's own class: for a migrated claim the in-tree plugin's name, as in Go.
    [ANN_PROVISIONED_BY]: sc.provisioner,
    [ANN_DELETION_SECRET_NAME]: secrets.provisioner?.name ?? '',
    [ANN_DELETION_SECRET_NAMESPACE]: secrets.provisioner?.namespace ?? '',
  };
  if (secrets.controllerModify) {
    annotations[ANN_MODIFY_SECRET_NAME] = secrets.controllerModify.name;
    annotations[ANN_MODIFY_SECRET_NAMESPACE] = secrets.controllerModify.namespace;
  }
  const csi: NonNullable<NonNullable<PersistentVolume['spec']>['csi']> = {
    driver: input.driverName,
    volumeHandle: volume.volumeId,
    // The driver's context wins over our identity key, as in Go.
    volumeAttributes: { [PROVISIONER_IDENTITY_KEY]: input.identity, ...volume.volumeContext },
  };
  if (input.readOnly) csi.readOnly = true;
  if (!isBlockClaim(claim) && input.fsType !== '') csi.fsType = input.fsType;
  if (secrets.controllerPublish) csi.controllerPublishSecretRef = { ...secrets.controllerPublish };
  if (secrets.nodeStage) csi.nodeStageSecretRef = { ...secrets.nodeStage };
  if (secrets.nodePublish) csi.nodePublishSecretRef = { ...secrets.nodePublish };
  if (secrets.controllerExpand) csi.controllerExpandSecretRef = { ...secrets.controllerExpand };
  if (secrets.nodeExpand) csi.nodeExpandSecretRef = { ...secrets.nodeExpand };

  const spec: NonNullable<PersistentVolume['spec']> = {
    accessModes: [...(claim.spec?.accessModes ?? [])],
    capacity: { storage: bytesToQuantity(capacity) },
    csi,
    persistentVolumeReclaimPolicy: reclaimPolicy,
    storageClassName: claimStorageClassName(claim),
    claimRef: claimReference(claim),
  };
  if (sc.mountOptions && sc.mountOptions.length > 0) spec.mountOptions = [...sc.mountOptions];
  if (input.supportsTopology) {
    const affinity: VolumeNodeAffinity | undefined = volumeNodeAffinity(volume.accessibleTopology);
    if (affinity) spec.nodeAffinity = affinity as NonNullable<PersistentVolume['spec']>['nodeAffinity'];
  }
  if (claim.spec?.volumeMode) spec.volumeMode = claim.spec.volumeMode;
  if (input.volumeAttributesClassName) spec.volumeAttributesClassName = input.volumeAttributesClassName;

  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: input.pvName,
      annotations,
      // Only Delete volumes need our finalizer; Go adds it to all and patches it away again.
      ...(reclaimPolicy === 'Delete' ? { finalizers: [PV_FINALIZER] } : {}),
    },
    spec,
  };
}
