import { describe, expect, it } from '@jest/globals';
import {
  CsiCallError,
  CsiInvalidResponseError,
  GrpcCode,
  grpcCodeName,
  grpcStatusOf,
  isFinalError,
  isFinalGrpcCode,
} from './errors.js';

describe('gRPC code names', () => {
  it('uses the names Go prints', () => {
    expect(Object.values(GrpcCode).map(grpcCodeName)).toEqual([
      'OK',
      'Canceled',
      'Unknown',
      'InvalidArgument',
      'DeadlineExceeded',
      'NotFound',
      'AlreadyExists',
      'PermissionDenied',
      'ResourceExhausted',
      'FailedPrecondition',
      'Aborted',
      'OutOfRange',
      'Unimplemented',
      'Internal',
      'Unavailable',
      'DataLoss',
      'Unauthenticated',
    ]);
    expect(grpcCodeName(42)).toBe('Code(42)');
  });
});

describe('final / in-progress classification', () => {
  it.each([
    ['Canceled', false],
    ['DeadlineExceeded', false],
    ['Unavailable', false],
    ['ResourceExhausted', false],
    ['Aborted', false],
    ['OK', true],
    ['Unknown', true],
    ['InvalidArgument', true],
    ['NotFound', true],
    ['AlreadyExists', true],
    ['PermissionDenied', true],
    ['FailedPrecondition', true],
    ['OutOfRange', true],
    ['Unimplemented', true],
    ['Internal', true],
    ['DataLoss', true],
    ['Unauthenticated', true],
  ] as const)('%s → final=%s', (name, final) => {
    expect(isFinalGrpcCode(GrpcCode[name])).toBe(final);
    expect(new CsiCallError('/csi.v1.Controller/CreateVolume', GrpcCode[name], 'x').isFinal).toBe(final);
  });

  it('treats errors without a gRPC status as not final, like the Go sidecars', () => {
    expect(isFinalError(new Error('socket closed'))).toBe(false);
    expect(isFinalError('boom')).toBe(false);
    expect(isFinalError({ code: 'ECONNRESET' })).toBe(false);
    expect(isFinalError(new CsiInvalidResponseError('/csi.v1.Controller/CreateVolume', 'no volume'))).toBe(false);
  });

  it('classifies raw grpc-js service errors by their code', () => {
    expect(isFinalError(Object.assign(new Error('5 NOT_FOUND: gone'), { code: 5, details: 'gone' }))).toBe(true);
    expect(isFinalError(Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: '' }))).toBe(false);
  });
});

describe('CsiCallError', () => {
  it('reads like a Go status error and keeps code, name, details and method', () => {
    const err = new CsiCallError('/csi.v1.Controller/ControllerPublishVolume', GrpcCode.Aborted, 'operation pending');
    expect(err.message).toBe('rpc error: code = Aborted desc = operation pending');
    expect(err).toMatchObject({
      name: 'CsiCallError',
      method: '/csi.v1.Controller/ControllerPublishVolume',
      code: 10,
      codeName: 'Aborted',
      details: 'operation pending',
      isFinal: false,
    });
    expect(grpcStatusOf(err)).toEqual({ code: 10, details: 'operation pending' });
  });
});
