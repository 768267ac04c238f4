// Data sources of a claim: which object to copy from, and the checks on snapshots and source
// claims that must pass before CreateVolume gets a volume_content_source. The checks take the
// objects already fetched, so they are plain functions; fetching is the caller's job.

import { parseQuantity } from '@csi-sidecars-ts/shared';
import type {
  CsiVolumeContentSourceInput,
  KubeObject,
  PersistentVolume,
  PersistentVolumeClaim,
  VolumeSnapshot,
  VolumeSnapshotContent,
} from '@csi-sidecars-ts/shared';
import { ANN_ALLOW_VOLUME_MODE_CHANGE, SNAPSHOT_SOURCE_FINALIZER } from './constants.js';

export interface DataSource {
  kind: string;
  name: string;
  /** API group ('' for core). */
  apiGroup: string;
  namespace: string;
}

export class DataSourceError extends Error {
  override readonly name = 'DataSourceError';
}

/** Minimal shape of a gateway.networking.k8s.io/v1beta1 ReferenceGrant. */
export interface ReferenceGrant extends KubeObject {
  spec?: {
    from?: { group?: string; kind?: string; namespace?: string }[];
    to?: { group?: string; kind?: string; name?: string }[];
  };
}

/**
 * `spec.dataSource` (always in the claim's namespace), else `spec.dataSourceRef` (optionally
 * in another namespace, only with the CrossNamespaceVolumeDataSource gate); undefined for none.
 */
export function resolveDataSource(claim: PersistentVolumeClaim, crossNamespaceEnabled: boolean): DataSource | undefined {
  const ns = claim.metadata?.namespace ?? '';
  const ds = claim.spec?.dataSource;
  if (ds) return { kind: ds.kind, name: ds.name, apiGroup: ds.apiGroup ?? '', namespace: ns };
  const ref = claim.spec?.dataSourceRef;
  if (!ref) return undefined;
  if (!crossNamespaceEnabled && ref.namespace) {
    throw new DataSourceError('dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled');
  }
  return { kind: ref.kind, name: ref.name, apiGroup: ref.apiGroup ?? '', namespace: ref.namespace || ns };
}

/** Whether a ReferenceGrant in the source namespace lets this claim use its dataSourceRef. */
export function referenceGranted(claim: PersistentVolumeClaim, grants: readonly ReferenceGrant[]): boolean {
  const ref = claim.spec?.dataSourceRef;
  if (!ref?.namespace) return true;
  for (const grant of grants) {
    if (grant.metadata?.namespace !== ref.namespace) continue;
    const validFrom = (grant.spec?.from ?? []).some((f) => (f.group ?? '') === '' && f.kind === 'PersistentVolumeClaim' && f.namespace === claim.metadata?.namespace);
    if (!validFrom) continue;
    for (const to of grant.spec?.to ?? []) {
      // A set apiGroup must equal the grant's group; an unset one (the apiserver sends null) is the core group.
      if ((to.group ?? '') !== (ref.apiGroup ?? '') || to.kind !== ref.kind) continue;
      if (!to.name || to.name === ref.name) return true;
    }
  }
  return false;
}

function storageBytes(claim: PersistentVolumeClaim): bigint | undefined {
  const q = claim.spec?.resources?.requests?.storage;
  return q === undefined ? undefined : parseQuantity(String(q)).int64Value();
}

/**
 * Checks a VolumeSnapshot (and its bound content) can be restored into `claim` for a
 * StorageClass of `provisioner`; returns the content source. `content` is undefined when the
 * snapshot is not bound yet.
 */
export function snapshotContentSource(
  claim: PersistentVolumeClaim,
  provisioner: string,
  storageClassName: string,
  snapshot: VolumeSnapshot,
  content: VolumeSnapshotContent | undefined,
  preventVolumeModeConversion: boolean,
): CsiVolumeContentSourceInput {
  const name = snapshot.metadata?.name ?? '';
  if (snapshot.metadata?.deletionTimestamp && !(snapshot.metadata.finalizers ?? []).includes(SNAPSHOT_SOURCE_FINALIZER)) {
    throw new DataSourceError(`snapshot ${name} is being deleted`);
  }
  const contentName = snapshot.status?.boundVolumeSnapshotContentName;
  if (!contentName) throw new DataSourceError(`snapshot ${name} not bound`);
  if (!content) throw new DataSourceError(`error getting snapshotcontent ${contentName} for snapshot ${name}`);
  const ref = content.spec?.volumeSnapshotRef;
  if (ref?.uid !== snapshot.metadata?.uid || ref?.namespace !== snapshot.metadata?.namespace || ref?.name !== name) {
    throw new DataSourceError(`snapshotcontent ${contentName} for snapshot ${name} is bound to a different snapshot`);
  }
  if (content.spec?.driver !== provisioner) {
    throw new DataSourceError(`snapshotcontent ${contentName} for snapshot ${name} is not handled by CSI driver of StorageClass ${storageClassName}`);
  }
  if (snapshot.status?.readyToUse !== true) throw new DataSourceError(`snapshot ${name} is not Ready`);
  const handle = content.status?.snapshotHandle;
  if (!handle) throw new DataSourceError(`snapshot handle ${name} is not available`);
  const restoreSize = snapshot.status?.restoreSize;
  if (restoreSize !== undefined && restoreSize !== null) {
    const requested = storageBytes(claim);
    if (requested === undefined) throw new DataSourceError(`error getting capacity for PVC ${claim.metadata?.name} when creating snapshot ${name}`);
    const size = parseQuantity(String(restoreSize)).int64Value();
    if (requested < size) throw new DataSourceError(`requested volume size ${requested} is less than the size ${size} for the source snapshot ${name}`);
  }
  if (preventVolumeModeConversion) {
    const source = content.spec?.sourceVolumeMode;
    const wanted = claim.spec?.volumeMode;
    if (source && wanted && source !== wanted) {
      const who = `${claim.metadata?.namespace}/${claim.metadata?.name}`;
      const allow = content.metadata?.annotations?.[ANN_ALLOW_VOLUME_MODE_CHANGE];
      const prefix = `requested volume ${who} modifies the mode of the source volume but does not have permission to do so. `;
      if (allow === undefined) throw new DataSourceError(`${prefix}${ANN_ALLOW_VOLUME_MODE_CHANGE} annotation is not present on snapshotcontent ${content.metadata?.name}`);
      const parsed = parseGoBoolStrict(allow);
      if (parsed === undefined) {
        throw new DataSourceError(`${prefix}failed to convert ${ANN_ALLOW_VOLUME_MODE_CHANGE} annotation value to boolean with error: strconv.ParseBool: parsing ${JSON.stringify(allow)}: invalid syntax`);
      }
      if (!parsed) throw new DataSourceError(`${prefix}${ANN_ALLOW_VOLUME_MODE_CHANGE} is set to false on snapshotcontent ${content.metadata?.name}`);
    }
  }
  return { snapshot: { snapshot_id: handle } };
}

/** strconv.ParseBool's accepted spellings. */
function parseGoBoolStrict(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** The generic answer Go gives for every problem with the source PV (details go to the log). */
export const CLONE_SOURCE_INVALID = 'claim in dataSource not bound or invalid';

/**
 * Checks that `source` (a claim from the cache) can be cloned into `claim` for a StorageClass of
 * `provisioner`. `sourcePv` is the PV bound to it (undefined if it could not be read).
 */
export function cloneContentSource(
  claim: PersistentVolumeClaim,
  provisioner: string,
  source: PersistentVolumeClaim,
  sourcePv: PersistentVolume | undefined,
): CsiVolumeContentSourceInput {
  const srcName = source.metadata?.name ?? '';
  if (source.status?.phase !== 'Bound') throw new DataSourceError(`the PVC DataSource ${srcName} must have a status of Bound.  Got ${source.status?.phase ?? 'no phase'}`);
  if (source.metadata?.deletionTimestamp) throw new DataSourceError(`the PVC DataSource ${srcName} is currently being deleted`);
  if (source.spec?.storageClassName === undefined || source.spec.storageClassName === null) {
    throw new DataSourceError(`the source PVC (${srcName}) storageclass cannot be empty`);
  }
  if (claim.spec?.storageClassName === undefined || claim.spec.storageClassName === null) {
    throw new DataSourceError(`the requested PVC (${claim.metadata?.name}) storageclass cannot be empty`);
  }
  const requested = storageBytes(claim) ?? 0n;
  const srcSize = storageBytes(source) ?? 0n;
  if (requested < srcSize) {
    throw new DataSourceError(`error, new PVC request must be greater than or equal in size to the specified PVC data source, requested ${requested} but source is ${srcSize}`);
  }
  if (!source.spec.volumeName) throw new DataSourceError(`volume name is empty in source PVC ${srcName}`);
  const csi = sourcePv?.spec?.csi;
  const cref = sourcePv?.spec?.claimRef;
  if (
    !sourcePv ||
    !csi ||
    csi.driver !== provisioner ||
    !cref ||
    cref.uid !== source.metadata?.uid ||
    cref.namespace !== source.metadata?.namespace ||
    cref.name !== srcName ||
    sourcePv.status?.phase !== 'Bound'
  ) {
    throw new DataSourceError(CLONE_SOURCE_INVALID);
  }
  const wantBlock = claim.spec.volumeMode === 'Block';
  const srcBlock = sourcePv.spec?.volumeMode === 'Block';
  if (!wantBlock && srcBlock) {
    throw new DataSourceError('the source PVC and destination PVCs must have the same volume mode for cloning.  Source is Block, but new PVC requested Filesystem');
  }
  if (wantBlock && !srcBlock) {
    throw new DataSourceError('the source PVC and destination PVCs must have the same volume mode for cloning.  Source is Filesystem, but new PVC requested Block');
  }
  return { volume: { volume_id: csi.volumeHandle } };
}
