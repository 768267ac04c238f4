// How a failed expansion is classified. For gRPC statuses the codes decide, exactly as in the
// Go resizer. Non-gRPC failures (a Secret that cannot be read, a lost connection) are not
// final: the call may not have happened, or may still be running. Our own checks of requests
// and answers that no retry can fix (a size that does not fit an int64, a driver answering 0
// bytes) are final and infeasible, so the claim is retried slowly and the user can lower the request.

import { GrpcCode, grpcStatusOf, isConflict, isFinalGrpcCode } from '@csi-sidecars-ts/shared';

/** A request or answer that cannot succeed as it is: the user (or the driver) must change something. */
export class InfeasibleResizeError extends Error {
  override readonly name = 'InfeasibleResizeError';
}

export interface FailureClass {
  /** The driver is known to have stopped working on the request. */
  final: boolean;
  /** Final, and the request itself is wrong (InvalidArgument, OutOfRange, NotFound). */
  infeasible: boolean;
  /** FailedPrecondition: the driver expands only volumes not in use. */
  inUse: boolean;
}

const INFEASIBLE_CODES: ReadonlySet<number> = new Set([GrpcCode.InvalidArgument, GrpcCode.OutOfRange, GrpcCode.NotFound]);

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof InfeasibleResizeError) return { final: true, infeasible: true, inUse: false };
  const status = grpcStatusOf(err);
  if (!status) return { final: false, infeasible: false, inUse: false };
  const final = isFinalGrpcCode(status.code);
  return { final, infeasible: final && INFEASIBLE_CODES.has(status.code), inUse: status.code === GrpcCode.FailedPrecondition };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when the error, or any error in its cause chain, is a 409 Conflict from the apiserver. */
export function isConflictError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (isConflict(e)) return true;
  }
  return false;
}
