// Public API of the csi-provisioner package.
export const sidecarName = 'csi-provisioner';

export { startProvisioner, volumeAttachmentPvIndex } from './sidecar.js';
export type { ProvisionerSidecar, ProvisionerSidecarDeps, ProvisionerSidecarOptions, ProvisionerCsiDeps } from './sidecar.js';
export { kubeProvisionerApi } from './adapters/kube-api.js';
export type { ProvisionerApi } from './adapters/kube-api.js';
export { kubeJournalApi } from './adapters/journal-api.js';
export type { JournalApi } from './adapters/journal-api.js';
export { ProvisioningJournal, JournalWriteError } from './controller/provisioning-journal.js';
export type { ProvisioningJournalDeps, ProvisioningJournalOptions } from './controller/provisioning-journal.js';
export {
  JournalController,
  claimWantsVolume,
  journalClaimUidIndex,
  JOURNAL_QUEUE,
  JOURNAL_RESYNC_PERIOD_MS,
  JOURNAL_CLAIM_UID_INDEX,
  JOURNAL_WORKERS,
  JOURNAL_ENTRIES_METRIC,
  JOURNAL_RECOVERIES_METRIC,
} from './controller/journal-controller.js';
export type { JournalControllerDeps, JournalControllerOptions, JournalRecovery } from './controller/journal-controller.js';
export {
  entryFromLease,
  entryKeys,
  entryClaimUids,
  journalEntryKey,
  journalShardName,
  shardLease,
  journalLabelValue,
  journalSelector,
  replayRequest,
  sameEntry,
  storedRequest,
  JournalEntryError,
  JOURNAL_LABEL,
  JOURNAL_NODE_LABEL,
  JOURNAL_ENTRY_PREFIX,
  JOURNAL_ENTRY_VERSION,
  JOURNAL_SHARD_BUDGET_BYTES,
} from './controller/journal-entry.js';
export type { JournalEntry, StoredCreateVolumeRequest } from './controller/journal-entry.js';
export * from './controller/constants.js';
export { CsiProvisioner, secretData, driverErrorOf, CLEANUP_DELETE_TRIES } from './controller/provisioner.js';
export type { ProvisionerConfig, ProvisionerDeps, ProvisionResult } from './controller/provisioner.js';
export { ClaimController, claimUidIndex, CLAIMS_QUEUE, CLAIM_UID_INDEX, CLAIM_RESYNC_PERIOD_MS } from './controller/claim-controller.js';
export type { ClaimControllerDeps, ClaimControllerOptions, ClaimOwnership } from './controller/claim-controller.js';
export { VolumeController, VOLUMES_QUEUE, VOLUME_RESYNC_PERIOD_MS } from './controller/volume-controller.js';
export type { VolumeControllerDeps, VolumeControllerOptions } from './controller/volume-controller.js';
export { VolumeSaver, UNSAVED_PVS_QUEUE, SAVE_WORKERS } from './controller/volume-saver.js';
export type { SaveJob, SaveOutcome, VolumeSaverDeps } from './controller/volume-saver.js';
export { CloneProtectionController, cloneSourceIndex, CLONE_PROTECTION_QUEUE, CLONE_SOURCE_INDEX } from './controller/clone-protection-controller.js';
export { NodeClaimOwnership } from './controller/node-ownership.js';
export { decideClaim, claimStorageClassName, claimProvisioner, selectedNodeOf } from './controller/claim-decision.js';
export type { ClaimDecision, ClaimDecisionInput } from './controller/claim-decision.js';
export { makeVolumeName, provisionerIdentity, VolumeNameError, MAX_UUID_LENGTH } from './controller/names.js';
export { fsTypeFromParameters, stripReservedParameters, withExtraCreateMetadata, ParameterError, RESERVED_PARAMETER_KEYS } from './controller/parameters.js';
export {
  secretReference,
  secretTemplates,
  SecretParameterError,
  ALL_SECRET_PARAMS,
  DEFAULT_SECRET,
  PROVISIONER_SECRET,
  CONTROLLER_PUBLISH_SECRET,
  NODE_STAGE_SECRET,
  NODE_PUBLISH_SECRET,
  CONTROLLER_EXPAND_SECRET,
  NODE_EXPAND_SECRET,
  CONTROLLER_MODIFY_SECRET,
} from './controller/secrets.js';
export type { SecretParams, SecretReference, SecretTemplateContext } from './controller/secrets.js';
export { goExpand, resolveTemplate, isDns1123Label, isDns1123Subdomain } from './controller/template.js';
export { volumeCapabilities, isBlockClaim } from './controller/capabilities.js';
export {
  accessibilityRequirements,
  volumeNodeAffinity,
  volumeIsAccessible,
  claimNameHashAndIndex,
  fnv1_32,
  topologyKeysOf,
  SelectedNodeGoneError,
  TopologyError,
} from './controller/topology.js';
export type { AccessibilityInput, TopologyLookup, VolumeNodeAffinity } from './controller/topology.js';
export { TopologyCache } from './controller/topology-cache.js';
export type { TopologyInfo } from './controller/topology-cache.js';
export { resolveDataSource, referenceGranted, snapshotContentSource, cloneContentSource, DataSourceError, CLONE_SOURCE_INVALID } from './controller/data-source.js';
export type { DataSource, ReferenceGrant } from './controller/data-source.js';
export { buildPersistentVolume, claimReference } from './controller/persistent-volume.js';
export type { BuildPvInput, CreatedVolume, PvSecretRefs } from './controller/persistent-volume.js';
export { isOurVolume, desiredFinalizers, shouldDeleteVolume, deletionSecretSource } from './controller/volume-decision.js';
export type { DeletionSecretSource } from './controller/volume-decision.js';
export { ProvisioningError, IgnoredError, createVolumeErrorState, isInfeasibleError } from './controller/provisioning-state.js';
export type { ProvisioningState } from './controller/provisioning-state.js';
export { SlowSet } from './controller/slow-set.js';
export { RecentlyDeletedVolumes, RECENTLY_DELETED_TTL_MS } from './controller/recently-deleted.js';
export {
  provisionerMetrics,
  noProvisionerMetrics,
  PROVISION_TOTAL,
  PROVISION_FAILED_TOTAL,
  PROVISION_DURATION,
  DELETE_TOTAL,
  DELETE_FAILED_TOTAL,
  DELETE_DURATION,
} from './controller/metrics.js';
export type { ProvisionerMetrics } from './controller/metrics.js';
export { trimCachedObject } from './controller/cache-transform.js';
export { SnapshotFinalizerSweeper, orphanedSnapshots, snapshotSourceOf } from './controller/snapshot-finalizer-sweeper.js';
export {
  CapacityController,
  capacitySelector,
  managedById,
  nameWithMaxLength,
  CAPACITY_QUEUE,
  DRIVER_NAME_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY,
} from './capacity/capacity-controller.js';
export type { CapacityControllerDeps, CapacityControllerOptions, SegmentSource } from './capacity/capacity-controller.js';
export { topologySegments, segmentKey, segmentSelector, termSegment } from './capacity/segments.js';
export type { Segment, SegmentEntry } from './capacity/segments.js';
export { clusterSegmentSource, fixedSegmentSource } from './capacity/segment-source.js';
export { lookupOwner } from './capacity/owner.js';
export type { OwnerReference } from './capacity/owner.js';
