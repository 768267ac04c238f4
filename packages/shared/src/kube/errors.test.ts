import { describe, expect, it } from '@jest/globals';
import { isAlreadyExists, isConflict, isForbidden, isGone, isNotFound, KubeApiError, toKubeApiError } from './errors.js';

const status = (code: number, reason: string, message = 'm') => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

describe('KubeApiError', () => {
  it('parses the reason from a raw Status string, as client-node hands it over', () => {
    // client-node's ApiException for codes missing in the OpenAPI spec: body is the raw JSON text.
    const apiException = Object.assign(new Error('HTTP-Code: 409'), { code: 409, body: status(409, 'AlreadyExists', 'pvc "a" already exists'), headers: {} });
    const e = toKubeApiError(apiException)!;
    expect(e.code).toBe(409);
    expect(e.reason).toBe('AlreadyExists');
    expect(e.message).toContain('pvc "a" already exists');
    expect(isAlreadyExists(apiException)).toBe(true);
    expect(isConflict(apiException)).toBe(false);
  });

  it('derives the reason from the code when the body is not a Status', () => {
    const e = KubeApiError.fromResponse(404, '<html>not here</html>', 'GET /api/v1/x');
    expect(e.reason).toBe('NotFound');
    expect(e.message).toContain('GET /api/v1/x');
    expect(isNotFound(e)).toBe(true);
  });

  it.each([
    [409, 'Conflict', { conflict: true }],
    [409, 'AlreadyExists', { alreadyExists: true }],
    [410, 'Expired', { gone: true }],
    [410, 'Gone', { gone: true }],
    [403, 'Forbidden', { forbidden: true }],
    [404, 'NotFound', { notFound: true }],
    [500, 'InternalError', {}],
  ])('classifies %d %s', (code, reason, want: Record<string, boolean>) => {
    const e = KubeApiError.fromResponse(code, status(code, reason));
    expect({
      conflict: isConflict(e),
      alreadyExists: isAlreadyExists(e),
      gone: isGone(e),
      forbidden: isForbidden(e),
      notFound: isNotFound(e),
    }).toEqual({ conflict: false, alreadyExists: false, gone: false, forbidden: false, notFound: false, ...want });
  });

  it('reads a watch ERROR event Status and the Retry-After hint', () => {
    const e = KubeApiError.fromStatus({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 5 (10)' });
    expect(isGone(e)).toBe(true);
    const limited = KubeApiError.fromResponse(429, status(429, 'TooManyRequests'), undefined, '7');
    expect(limited.retryAfterSeconds).toBe(7);
  });

  it('does not mistake unrelated errors for API errors', () => {
    expect(toKubeApiError(new Error('ECONNRESET'))).toBeUndefined();
    expect(isNotFound(undefined)).toBe(false);
    expect(isNotFound({ code: 'ENOENT' })).toBe(false);
  });
});
