// csi-provisioner's command line: every flag of external-provisioner v6.3.0 with its Go name and
// default, on top of the flags all sidecars share. Values reach the code as typed options
// (durations in milliseconds).

import {
  boolFlag,
  commonSidecarFlags,
  durationFlag,
  featureGatesFlag,
  floatFlag,
  intFlag,
  masterFlag,
  retryIntervalFlags,
  stringFlag,
  timeoutFlag,
  uintFlag,
  validateStandardFlags,
  type FeatureGateSpec,
  type FlagValues,
} from '@csi-sidecars-ts/shared';

/** The provisioner's feature gates (external-provisioner pkg/features). */
export const PROVISIONER_FEATURE_GATES: readonly FeatureGateSpec[] = [
  { name: 'Topology', default: true, stage: 'GA' },
  { name: 'CrossNamespaceVolumeDataSource', default: false, stage: 'ALPHA' },
  { name: 'VolumeAttributesClass', default: true, stage: 'GA' },
  { name: 'ReleaseLeaderElectionOnExit', default: false, stage: 'ALPHA' },
];

/** Longest --volume-name-uuid-length: a PVC UID without its dashes has 32 characters. */
export const MAX_VOLUME_NAME_UUID_LENGTH = 32;

export function provisionerFlags() {
  return {
    ...commonSidecarFlags(),
    master: masterFlag(),
    volumeNamePrefix: stringFlag(
      'volume-name-prefix',
      'pvc',
      'Prefix of the names of created volumes (PV name and CreateVolume name); while it is empty every provisioning fails.',
    ),
    volumeNameUuidLength: intFlag(
      'volume-name-uuid-length',
      -1,
      `Keep only this many characters of the PVC UID (dashes removed) in volume names; -1 keeps the whole UID with dashes. At most ${MAX_VOLUME_NAME_UUID_LENGTH}.`,
      { min: -1, max: MAX_VOLUME_NAME_UUID_LENGTH },
    ),
    ...retryIntervalFlags('provisioning or deletion'),
    workerThreads: uintFlag(
      'worker-threads',
      100,
      'Number of provisioning workers, i.e. concurrent CreateVolume calls (and, separately, as many deletion workers).',
      { min: 1 },
    ),
    cloningProtectionThreads: uintFlag(
      'cloning-protection-threads',
      1,
      'Number of workers removing the clone-source protection finalizer.',
      { min: 1 },
    ),
    snapshotOrphanSweepIntervalMs: durationFlag(
      'snapshot-orphan-sweep-interval',
      300_000,
      'How often to look for orphaned snapshot source-protection finalizers; 0 turns the sweep off.',
      { minMs: 0 },
    ),
    capacityThreads: uintFlag('capacity-threads', 1, 'Number of workers maintaining CSIStorageCapacity objects.', { min: 1 }),
    timeoutMs: timeoutFlag(10_000, 'Timeout of each CSI call (creation, deletion, capacity queries, probes).'),
    strictTopology: boolFlag(
      'strict-topology',
      false,
      'Late binding: pass only the selected node\'s topology to CreateVolume instead of all cluster topologies matching its keys.',
    ),
    immediateTopology: boolFlag(
      'immediate-topology',
      true,
      'Immediate binding: pass the aggregated topology of all nodes with the driver (true) or no topology requirement (false).',
    ),
    extraCreateMetadata: boolFlag(
      'extra-create-metadata',
      false,
      'Add PVC name, PVC namespace and PV name to the CreateVolume parameters.',
    ),
    enablePprof: boolFlag('enable-pprof', false, 'Serve profiling data under /debug/pprof/ on --http-endpoint.'),
    defaultFstype: stringFlag(
      'default-fstype',
      '',
      'Filesystem type for volumes whose StorageClass names none; empty sends no filesystem type.',
    ),
    kubeApiCapacityQps: floatFlag(
      'kube-api-capacity-qps',
      1,
      'Queries per second for CSIStorageCapacity updates towards the API server.',
      { bits: 32 },
    ),
    kubeApiCapacityBurst: intFlag('kube-api-capacity-burst', 5, 'Burst for CSIStorageCapacity updates towards the API server.', {
      min: 0,
    }),
    enableCapacity: boolFlag(
      'enable-capacity',
      false,
      'Publish CSIStorageCapacity objects from the driver\'s GetCapacity (needs the NAMESPACE and POD_NAME environment variables).',
    ),
    capacityForImmediateBinding: boolFlag(
      'capacity-for-immediate-binding',
      false,
      'Also publish capacity for StorageClasses with Immediate binding.',
    ),
    capacityPollIntervalMs: durationFlag(
      'capacity-poll-interval',
      60_000,
      'How often to ask the driver for capacity again.',
      { positive: true },
    ),
    capacityOwnerrefLevel: intFlag(
      'capacity-ownerref-level',
      1,
      'Owner of CSIStorageCapacity objects, counted from the pod named by POD_NAME/NAMESPACE: -1 none, 0 the pod, 1 its StatefulSet/DaemonSet/ReplicaSet, 2 a Deployment, and so on.',
      { min: -1 },
    ),
    nodeDeployment: boolFlag(
      'node-deployment',
      false,
      'Run on every node next to the driver and provision node-local volumes (needs the NODE_NAME environment variable).',
    ),
    nodeDeploymentImmediateBinding: boolFlag(
      'node-deployment-immediate-binding',
      true,
      'With --node-deployment: also take PVCs with Immediate binding, racing the other nodes for them.',
    ),
    nodeDeploymentBaseDelayMs: durationFlag(
      'node-deployment-base-delay',
      20_000,
      'With --node-deployment: initial wait before trying to take a PVC with Immediate binding.',
      { minMs: 0 },
    ),
    nodeDeploymentMaxDelayMs: durationFlag(
      'node-deployment-max-delay',
      60_000,
      'With --node-deployment: longest wait before trying to take a PVC with Immediate binding.',
      { minMs: 0 },
    ),
    controllerPublishReadonly: boolFlag(
      'controller-publish-readonly',
      false,
      'Mark the PV read-only for ControllerPublishVolume when the PVC\'s only access mode is ReadOnlyMany.',
    ),
    preventVolumeModeConversion: boolFlag(
      'prevent-volume-mode-conversion',
      true,
      'Refuse to restore a snapshot into a PVC with a different volume mode unless the snapshot content allows it.',
    ),
    // Ours (not in the Go provisioner): crash-safe provisioning, docs/adr/0006-provisioning-journal.md.
    provisioningJournal: boolFlag(
      'provisioning-journal',
      true,
      'Record each CreateVolume in a Lease in the leader-election namespace before making it, and after a restart finish or delete what was left, so no volume leaks (needs get, list, watch, create, update, delete on leases there).',
    ),
    provisioningProtectionFinalizer: boolFlag(
      'provisioning-protection-finalizer',
      false,
      'Also put a finalizer on each claim while its volume may exist without a PV, so deleting the claim waits for the cleanup (needs --provisioning-journal).',
    ),
    featureGates: featureGatesFlag(PROVISIONER_FEATURE_GATES),
  };
}

export type ProvisionerFlagDefs = ReturnType<typeof provisionerFlags>;
export type ProvisionerOptions = FlagValues<ProvisionerFlagDefs>;

/**
 * Cross-flag checks made before anything starts; one message per problem. An empty
 * --volume-name-prefix is not refused here: Go fails each provisioning with it but still deletes
 * volumes, and so must we (run() warns about it).
 */
export function validateProvisionerFlags(o: ProvisionerOptions): string[] {
  // --provisioning-protection-finalizer without --provisioning-journal is not refused: it does
  // nothing, and start-up says so (a chart may set both flags independently).
  return validateStandardFlags(o);
}
