// csi-attacher's command line: every flag of external-attacher v4.12.0 with its Go name and
// default, on top of the flags all sidecars share. Durations reach the code in milliseconds.

import {
  commonSidecarFlags,
  durationFlag,
  featureGatesFlag,
  intFlag,
  retryIntervalFlags,
  stringFlag,
  timeoutFlag,
  uintFlag,
  validateStandardFlags,
  type FeatureGateSpec,
  type FlagValues,
} from '@csi-sidecars-ts/shared';

/** The attacher's feature gates (external-attacher pkg/features). */
export const ATTACHER_FEATURE_GATES: readonly FeatureGateSpec[] = [
  { name: 'ReleaseLeaderElectionOnExit', default: false, stage: 'ALPHA' },
  { name: 'MutableCSINodeAllocatableCount', default: true, stage: 'GA' },
];

export function attacherFlags() {
  return {
    ...commonSidecarFlags(),
    resyncMs: durationFlag(
      'resync',
      600_000,
      'Resync period of the VolumeAttachment, PV and CSINode informers (not a retry mechanism); 0 disables it.',
      { minMs: 0 },
    ),
    // 15s here, while the provisioner and the resizer default to 10s.
    timeoutMs: timeoutFlag(
      15_000,
      'Timeout of each ControllerPublish/ControllerUnpublish call and probe, and of a whole ListVolumes reconcile pass.',
    ),
    ...retryIntervalFlags('attach or detach'),
    workerThreads: uintFlag(
      'worker-threads',
      10,
      'Number of workers for VolumeAttachments (and as many again for PersistentVolumes).',
      { min: 1 },
    ),
    maxEntries: intFlag('max-entries', 0, 'Page size of ListVolumes calls in the reconciler; 0 means no limit.', { min: 0 }),
    defaultFstype: stringFlag(
      'default-fstype',
      '',
      'Filesystem type for mount volumes whose PV names none; empty sends no filesystem type.',
    ),
    reconcileSyncMs: durationFlag(
      'reconcile-sync',
      60_000,
      'Period of the reconciler that compares VolumeAttachments with ListVolumes.',
      { positive: true },
    ),
    maxGrpcLogLength: intFlag(
      'max-grpc-log-length',
      -1,
      'Logged gRPC responses are cut to this many characters; 0 or less means no limit.',
    ),
    featureGates: featureGatesFlag(ATTACHER_FEATURE_GATES),
  };
}

export type AttacherFlagDefs = ReturnType<typeof attacherFlags>;
export type AttacherOptions = FlagValues<AttacherFlagDefs>;

/** Cross-flag checks made before anything starts; one message per problem. */
export function validateAttacherFlags(o: AttacherOptions): string[] {
  return validateStandardFlags(o);
}
