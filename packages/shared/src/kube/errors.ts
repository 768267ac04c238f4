// Errors from the apiserver, with the Status reason parsed whatever shape the failure came in:
// our own transport, client-node's ApiException (whose body is often the raw Status string), or
// a watch ERROR event.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** metav1.Status as sent in error bodies and watch ERROR events. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status code (or the Status code of a watch ERROR event). */
  readonly code: number;
  /** metav1.StatusReason, e.g. 'NotFound', 'Conflict', 'AlreadyExists', 'Expired'; '' if unknown. */
  readonly reason: string;
  readonly status: KubeStatus | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: number, reason: string, message: string, status?: KubeStatus, retryAfterSeconds?: number) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /**
   * Builds the error from a response: the body is parsed as a Status when it is one; otherwise
   * the reason is derived from the HTTP code, as client-go does for non-Status bodies.
   */
  static fromResponse(code: number, body: unknown, context?: string, retryAfterHeader?: string | null): KubeApiError {
    const status = parseStatus(body);
    const reason = status?.reason || reasonForCode(code);
    const text = status?.message || (typeof body === 'string' && body.trim() ? truncate(body.trim(), 300) : httpText(code));
    const retryAfter = status?.details?.retryAfterSeconds ?? parseRetryAfter(retryAfterHeader);
    const message = context ? `${context}: ${text} (HTTP ${code}${reason ? ` ${reason}` : ''})` : `${text} (HTTP ${code}${reason ? ` ${reason}` : ''})`;
    return new KubeApiError(code, reason, message, status, retryAfter);
  }

  /** From the object of a watch ERROR event. */
  static fromStatus(status: KubeStatus, context?: string): KubeApiError {
    const code = status.code ?? 500;
    return KubeApiError.fromResponse(code, status, context);
  }
}

/** A request that got no HTTP answer: connection refused or reset, TLS failure, timeout, abort. */
export class KubeTransportError extends Error {
  override readonly name = 'KubeTransportError';
  readonly timedOut: boolean;

  constructor(message: string, opts: { cause?: unknown; timedOut?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.timedOut = opts.timedOut ?? false;
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function httpText(code: number): string {
  return `the server responded with HTTP ${code}`;
}

function parseRetryAfter(v: string | null | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Parses a Status from a string or an object; undefined when the body is not a Status. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  let v = body;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.kind !== 'Status' && typeof o.reason !== 'string' && typeof o.message !== 'string') return undefined;
  return o as KubeStatus;
}

/** The reason client-go assumes when the server sent no Status (k8s.io/apimachinery errors.FromObject/NewGenericServerResponse). */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 406:
      return 'NotAcceptable';
    case 409:
      return 'Conflict';
    case 410:
      return 'Gone';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return '';
  }
}

/**
 * Normalises any error to a KubeApiError when it carries an HTTP answer: our own errors, and
 * client-node's ApiException (code + body, body possibly the raw Status JSON string).
 */
export function toKubeApiError(err: unknown): KubeApiError | undefined {
  if (err instanceof KubeApiError) return err;
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; body?: unknown; headers?: Record<string, string> };
  if (typeof e.code === 'number' && e.code >= 100 && e.code < 600 && 'body' in e) {
    return KubeApiError.fromResponse(e.code, e.body, undefined, e.headers?.['retry-after']);
  }
  return undefined;
}

function check(err: unknown, reasons: string[], codes: number[], codeOnlyWhenReasonUnknown = false): boolean {
  const e = toKubeApiError(err);
  if (!e) return false;
  if (reasons.includes(e.reason)) return true;
  if (codeOnlyWhenReasonUnknown && e.reason !== '' && e.reason !== reasonForCode(e.code)) return false;
  return codes.includes(e.code);
}

export function isNotFound(err: unknown): boolean {
  return check(err, ['NotFound'], [404], true);
}

/** 409 because of an optimistic-concurrency conflict (not AlreadyExists, which is also 409). */
export function isConflict(err: unknown): boolean {
  return check(err, ['Conflict'], [409], true);
}

export function isAlreadyExists(err: unknown): boolean {
  return check(err, ['AlreadyExists'], []);
}

/** 410: a resourceVersion or continue token too old ('Expired' or 'Gone'). */
export function isGone(err: unknown): boolean {
  return check(err, ['Gone', 'Expired'], [410]);
}

export function isForbidden(err: unknown): boolean {
  return check(err, ['Forbidden'], [403], true);
}

export function isInvalid(err: unknown): boolean {
  return check(err, ['Invalid'], [422], true);
}

export function isTooManyRequests(err: unknown): boolean {
  return check(err, ['TooManyRequests'], [429]);
}

export function isUnauthorized(err: unknown): boolean {
  return check(err, ['Unauthorized'], [401], true);
}

/**
 * The server cannot serve a list or watch at the requested resourceVersion because it has not
 * seen it yet (a lagging watch cache): cause ResourceVersionTooLarge, or the message older
 * servers send (client-go's isTooLargeResourceVersionError).
 */
export function isTooLargeResourceVersion(err: unknown): boolean {
  const e = toKubeApiError(err);
  if (!e) return false;
  if (e.status?.details?.causes?.some((c) => c.reason === 'ResourceVersionTooLarge')) return true;
  return e.reason === 'Timeout' && /too large resource version/i.test(e.status?.message ?? e.message);
}
