// A gRPC status for fake servers to throw: the fake plugin sends it to the client as is.
import { grpcCodeName } from '../errors.js';

export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string) {
    super(`${grpcCodeName(code)}: ${details}`);
    this.code = code;
    this.details = details;
  }
}

/** Shorthand: `throw grpcStatus(GrpcCode.NotFound, 'volume vol-1 not found')`. */
export function grpcStatus(code: number, details: string): GrpcStatusError {
  return new GrpcStatusError(code, details);
}
