// The Kubernetes API calls the provisioner makes, behind one small interface so controllers can
// be tested against the fake apiserver or an in-memory double. Reads that must be fresh (secrets,
// snapshots, source PVs, VolumeAttributesClasses) are direct GETs, as in Go; everything else the
// controllers read comes from informer caches.

import {
  CSI_NODES,
  NODES,
  PERSISTENT_VOLUMES,
  PERSISTENT_VOLUME_CLAIMS,
  SECRETS,
  VOLUME_ATTRIBUTES_CLASSES,
  VOLUME_SNAPSHOTS,
  VOLUME_SNAPSHOT_CONTENTS,
  createObject,
  deleteObject,
  getObject,
  patchObject,
  updateObject,
} from '@csi-sidecars-ts/shared';
import type {
  CSINode,
  KubeRequester,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Secret,
  VolumeAttributesClass,
  VolumeSnapshot,
  VolumeSnapshotContent,
} from '@csi-sidecars-ts/shared';

export interface ProvisionerApi {
  /** Direct reads of a Node / CSINode, to confirm a cache miss before asking for rescheduling. */
  getNode(name: string, signal?: AbortSignal): Promise<Node>;
  getCSINode(name: string, signal?: AbortSignal): Promise<CSINode>;
  getSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Secret>;
  getVolumeAttributesClass(name: string, signal?: AbortSignal): Promise<VolumeAttributesClass>;
  getVolumeSnapshot(namespace: string, name: string, signal?: AbortSignal): Promise<VolumeSnapshot>;
  updateVolumeSnapshot(snapshot: VolumeSnapshot, signal?: AbortSignal): Promise<VolumeSnapshot>;
  getVolumeSnapshotContent(name: string, signal?: AbortSignal): Promise<VolumeSnapshotContent>;
  getPersistentVolume(name: string, signal?: AbortSignal): Promise<PersistentVolume>;
  createPersistentVolume(pv: PersistentVolume, signal?: AbortSignal): Promise<PersistentVolume>;
  /** DELETE, only this incarnation (uid precondition). */
  deletePersistentVolume(name: string, uid: string | undefined, signal?: AbortSignal): Promise<void>;
  /** Sets metadata.finalizers, conditional on the PV's resourceVersion (409 if it changed). */
  setPersistentVolumeFinalizers(pv: PersistentVolume, finalizers: string[], signal?: AbortSignal): Promise<PersistentVolume>;
  /**
   * Removes `finalizer` where `pv` has it, without a read and whatever else changed meanwhile:
   * a JSON patch that tests the UID and the list entry first (it fails if either moved).
   */
  removePersistentVolumeFinalizer(pv: PersistentVolume, finalizer: string, signal?: AbortSignal): Promise<PersistentVolume>;
  /** A fresh read of a claim (the journal confirms a claim is gone before cleaning up after it). */
  getClaim(namespace: string, name: string, signal?: AbortSignal): Promise<PersistentVolumeClaim>;
  /** PUT of a claim, conditional on its resourceVersion. */
  updateClaim(claim: PersistentVolumeClaim, signal?: AbortSignal): Promise<PersistentVolumeClaim>;
}

export function kubeProvisionerApi(client: KubeRequester): ProvisionerApi {
  return {
    getNode: (name, signal) => getObject<Node>(client, NODES, name, undefined, { signal }),
    getCSINode: (name, signal) => getObject<CSINode>(client, CSI_NODES, name, undefined, { signal }),
    getSecret: (namespace, name, signal) => getObject<Secret>(client, SECRETS, name, namespace, { signal }),
    getVolumeAttributesClass: (name, signal) => getObject<VolumeAttributesClass>(client, VOLUME_ATTRIBUTES_CLASSES, name, undefined, { signal }),
    getVolumeSnapshot: (namespace, name, signal) => getObject<VolumeSnapshot>(client, VOLUME_SNAPSHOTS, name, namespace, { signal }),
    updateVolumeSnapshot: (snapshot, signal) => updateObject<VolumeSnapshot>(client, VOLUME_SNAPSHOTS, snapshot, { signal }),
    getVolumeSnapshotContent: (name, signal) => getObject<VolumeSnapshotContent>(client, VOLUME_SNAPSHOT_CONTENTS, name, undefined, { signal }),
    getPersistentVolume: (name, signal) => getObject<PersistentVolume>(client, PERSISTENT_VOLUMES, name, undefined, { signal }),
    createPersistentVolume: (pv, signal) => createObject<PersistentVolume>(client, PERSISTENT_VOLUMES, pv, { signal }),
    deletePersistentVolume: async (name, uid, signal) => {
      await deleteObject(client, PERSISTENT_VOLUMES, name, undefined, { preconditions: uid ? { uid } : undefined, signal });
    },
    setPersistentVolumeFinalizers: (pv, finalizers, signal) =>
      patchObject<PersistentVolume>(
        client,
        PERSISTENT_VOLUMES,
        pv.metadata?.name ?? '',
        undefined,
        // A merge patch replaces the whole list; the resourceVersion makes sure it is the list we saw.
        { metadata: { finalizers: finalizers.length > 0 ? finalizers : null, resourceVersion: pv.metadata?.resourceVersion ?? null } },
        'merge',
        { signal },
      ),
    removePersistentVolumeFinalizer: (pv, finalizer, signal) => {
      const index = (pv.metadata?.finalizers ?? []).indexOf(finalizer);
      if (index < 0) return Promise.resolve(pv);
      return patchObject<PersistentVolume>(
        client,
        PERSISTENT_VOLUMES,
        pv.metadata?.name ?? '',
        undefined,
        [
          { op: 'test', path: '/metadata/uid', value: pv.metadata?.uid ?? '' },
          { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
          { op: 'remove', path: `/metadata/finalizers/${index}` },
        ],
        'json',
        { signal },
      );
    },
    getClaim: (namespace, name, signal) => getObject<PersistentVolumeClaim>(client, PERSISTENT_VOLUME_CLAIMS, name, namespace, { signal }),
    updateClaim: (claim, signal) => updateObject<PersistentVolumeClaim>(client, PERSISTENT_VOLUME_CLAIMS, claim, { signal }),
  };
}
