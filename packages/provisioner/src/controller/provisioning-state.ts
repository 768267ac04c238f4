// What a failed provisioning attempt means for the claim (the Go library's ProvisioningState):
//   Finished      — nothing runs in the driver; retry later from scratch (or stop on success).
//   InBackground  — the driver may still be creating the volume: keep retrying CreateVolume
//                   with the same request, even if the claim is deleted meanwhile, until a
//                   final answer, so a volume that does get created is found and cleaned up.
//   NoChange      — a transient problem before/around the call; keep the current bookkeeping.
//   Reschedule    — give the node choice back to the scheduler (remove selected-node).

import { CsiCallError, GrpcCode } from '@csi-sidecars-ts/shared';

export type ProvisioningState = 'Finished' | 'InBackground' | 'NoChange' | 'Reschedule';

/** A failed attempt with the state it leaves the claim in. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  readonly state: ProvisioningState;

  constructor(state: ProvisioningState, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.state = state;
  }
}

/** Not ours to do (another node's claim, a populator's data source): stop quietly, no event. */
export class IgnoredError extends Error {
  override readonly name = 'IgnoredError';
}

export function finished(message: string, cause?: unknown): ProvisioningError {
  return new ProvisioningError('Finished', message, { cause });
}

export function noChange(message: string, cause?: unknown): ProvisioningError {
  return new ProvisioningError('NoChange', message, { cause });
}

/**
 * The state a failed CreateVolume leaves behind. ResourceExhausted means "no room here":
 * reschedule when the scheduler can pick another node, else a plain final error. Canceled,
 * DeadlineExceeded, Unavailable, Aborted and non-gRPC failures may leave the call running.
 */
export function createVolumeErrorState(err: unknown, mayReschedule: boolean): ProvisioningState {
  // Only a gRPC status from the driver is conclusive; anything else may have left a call running.
  if (!(err instanceof CsiCallError)) return 'InBackground';
  switch (err.code) {
    case GrpcCode.ResourceExhausted:
      return mayReschedule ? 'Reschedule' : 'Finished';
    case GrpcCode.Canceled:
    case GrpcCode.DeadlineExceeded:
    case GrpcCode.Unavailable:
    case GrpcCode.Aborted:
      return 'InBackground';
    default:
      return 'Finished';
  }
}

/** InvalidArgument from the driver: the request itself is wrong, so retries are slowed down. */
export function isInfeasibleError(err: unknown): boolean {
  return err instanceof CsiCallError && err.code === GrpcCode.InvalidArgument;
}
