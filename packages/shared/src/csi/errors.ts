// How a failed CSI call is described and classified. The sidecars decide between "final"
// (give up, record the failure) and "in progress" (the driver may still be working: keep the
// in-progress bookkeeping and retry) from the gRPC status code alone, and they treat an error
// that is not a gRPC status at all as "in progress". We classify exactly the same way.

/** gRPC status codes by number (grpc/grpc doc/statuscodes.md). */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export type GrpcCodeName = keyof typeof GrpcCode;

const namesByNumber = new Map<number, GrpcCodeName>(
  Object.entries(GrpcCode).map(([name, code]) => [code, name as GrpcCodeName]),
);

/**
 * The name Go's `codes.Code.String()` gives a code ("DeadlineExceeded"); metrics labels and error
 * texts use it, so dashboards and alerts written for the Go sidecars keep matching.
 */
export function grpcCodeName(code: number): string {
  return namesByNumber.get(code) ?? `Code(${code})`;
}

/** Codes after which the operation may still be running in the driver. */
const IN_PROGRESS_CODES: ReadonlySet<number> = new Set([
  GrpcCode.Canceled,
  GrpcCode.DeadlineExceeded,
  GrpcCode.Unavailable,
  GrpcCode.ResourceExhausted,
  GrpcCode.Aborted,
]);

/** True when a call that ended with this code definitely did not leave work running in the driver. */
export function isFinalGrpcCode(code: number): boolean {
  return !IN_PROGRESS_CODES.has(code);
}

/** A failed call to the CSI driver that ended with a gRPC status. */
export class CsiCallError extends Error {
  override readonly name = 'CsiCallError';
  /** Full gRPC method, e.g. `/csi.v1.Controller/CreateVolume`. */
  readonly method: string;
  readonly code: number;
  /** Go-style code name, e.g. `DeadlineExceeded`. */
  readonly codeName: string;
  /** The status message the driver (or gRPC) gave. */
  readonly details: string;
  readonly isFinal: boolean;

  constructor(method: string, code: number, details: string, options?: { cause?: unknown }) {
    // Same text as a Go status error, which ends up verbatim in Kubernetes events.
    super(`rpc error: code = ${grpcCodeName(code)} desc = ${details}`, options);
    this.method = method;
    this.code = code;
    this.codeName = grpcCodeName(code);
    this.details = details;
    this.isFinal = isFinalGrpcCode(code);
  }
}

/**
 * The driver answered OK but the answer lacks something the spec requires (for example
 * CreateVolume without a volume id). Not a gRPC status, so — like any non-gRPC error in the Go
 * sidecars — not final: the driver may have done the work.
 */
export class CsiInvalidResponseError extends Error {
  override readonly name = 'CsiInvalidResponseError';
  readonly method: string;
  readonly isFinal = false;

  constructor(method: string, problem: string) {
    super(`CSI driver returned an invalid response to ${method}: ${problem}`);
    this.method = method;
  }
}

/** A gRPC-js ServiceError or anything shaped like one. */
export function grpcStatusOf(err: unknown): { code: number; details: string } | undefined {
  if (err instanceof CsiCallError) return { code: err.code, details: err.details };
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, details } = err as { code?: unknown; details?: unknown };
  if (typeof code !== 'number' || !Number.isInteger(code)) return undefined;
  return { code, details: typeof details === 'string' ? details : String((err as Error).message ?? '') };
}

/**
 * Whether an error from a CSI call is final. Errors that are not gRPC statuses are not final:
 * the call may have reached the driver before the failure (the Go sidecars reason the same way).
 */
export function isFinalError(err: unknown): boolean {
  if (err instanceof CsiCallError || err instanceof CsiInvalidResponseError) return err.isFinal;
  const status = grpcStatusOf(err);
  return status ? isFinalGrpcCode(status.code) : false;
}
