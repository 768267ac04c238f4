// csi-resizer's command line: every flag of external-resizer v2.2 with its Go name and default,
// on top of the flags all sidecars share. Note the resizer's own names: --workers (not
// --worker-threads) and --resync-period (not --resync). Durations reach the code in milliseconds.

import {
  boolFlag,
  commonSidecarFlags,
  durationFlag,
  featureGatesFlag,
  intFlag,
  masterFlag,
  retryIntervalFlags,
  timeoutFlag,
  validateStandardFlags,
  type FeatureGateSpec,
  type FlagValues,
} from '@csi-sidecars-ts/shared';

/**
 * The resizer's feature gates, as external-resizer v2.2.0 defines them (pkg/features). The
 * reference notes list AnnotateFsResize as beta/on for v2.2.1; the v2.2.0 source has it alpha/off.
 */
export const RESIZER_FEATURE_GATES: readonly FeatureGateSpec[] = [
  { name: 'AnnotateFsResize', default: false, stage: 'ALPHA' },
  { name: 'RecoverVolumeExpansionFailure', default: true, stage: 'GA' },
  { name: 'VolumeAttributesClass', default: true, stage: 'GA' },
  { name: 'ReleaseLeaderElectionOnExit', default: false, stage: 'ALPHA' },
];

export function resizerFlags() {
  return {
    ...commonSidecarFlags(),
    master: masterFlag(),
    resyncPeriodMs: durationFlag(
      'resync-period',
      600_000,
      'Resync period of the informers and of the PVC/Pod handlers; 0 disables it.',
      { minMs: 0 },
    ),
    workers: intFlag('workers', 10, 'Number of workers of each controller (resize and modify).', { min: 1 }),
    extraModifyMetadata: boolFlag(
      'extra-modify-metadata',
      false,
      'Add PVC and PV identity to the ControllerModifyVolume parameters.',
    ),
    timeoutMs: timeoutFlag(
      10_000,
      'Timeout of each CSI call (probes, plugin info, ControllerExpandVolume, ControllerModifyVolume).',
    ),
    ...retryIntervalFlags('resize or modify'),
    handleVolumeInuseError: boolFlag(
      'handle-volume-inuse-error',
      true,
      'Watch pods so that a volume the driver reported in use is not expanded again while pods still use it.',
    ),
    featureGates: featureGatesFlag(RESIZER_FEATURE_GATES),
  };
}

export type ResizerFlagDefs = ReturnType<typeof resizerFlags>;
export type ResizerOptions = FlagValues<ResizerFlagDefs>;

/** Cross-flag checks made before anything starts; one message per problem. */
export function validateResizerFlags(o: ResizerOptions): string[] {
  return validateStandardFlags(o);
}
