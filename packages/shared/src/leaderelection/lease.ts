// The Lease object as leader election needs it, and the small client interface it talks through.
// Independent of @kubernetes/client-node so tests can use an in-memory client.

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
  preferredHolder?: string;
  strategy?: string;
}

export interface LeaseMetadata {
  name: string;
  namespace: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  /** Everything else the server sent is kept, so an update (PUT) does not drop it. */
  [field: string]: unknown;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: LeaseMetadata;
  spec?: LeaseSpec;
}

/**
 * coordination.k8s.io/v1 Lease access. Failures throw an object with a numeric `statusCode` when
 * the API server answered (404 not found, 409 conflict / already exists); anything else (network,
 * abort) throws without one. `signal` aborts the request.
 */
export interface LeaseClient {
  get(namespace: string, name: string, signal?: AbortSignal): Promise<LeaseObject>;
  create(lease: LeaseObject, signal?: AbortSignal): Promise<LeaseObject>;
  /** Replaces the Lease; the server rejects it with 409 unless metadata.resourceVersion is current. */
  update(lease: LeaseObject, signal?: AbortSignal): Promise<LeaseObject>;
}

export class LeaseClientError extends Error {
  override readonly name = 'LeaseClientError';

  constructor(
    message: string,
    readonly statusCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function leaseErrorStatusCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const code = (err as { statusCode: unknown }).statusCode;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export const isLeaseNotFound = (err: unknown): boolean => leaseErrorStatusCode(err) === 404;
export const isLeaseConflict = (err: unknown): boolean => leaseErrorStatusCode(err) === 409;
