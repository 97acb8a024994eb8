import { describe, expect, it } from 'vitest';
import * as errdefs from './index';
import { BerthError, ErrorKind, GrpcCode, fromGrpcError, kindOf, toGrpcStatus, withContext } from './index';

// One row per kind: its factory, its guard and its gRPC code.
const table: Array<[ErrorKind, string, string, number]> = [
  ['Unknown', 'unknown', 'isUnknown', GrpcCode.UNKNOWN],
  ['InvalidArgument', 'invalidArgument', 'isInvalidArgument', GrpcCode.INVALID_ARGUMENT],
  ['NotFound', 'notFound', 'isNotFound', GrpcCode.NOT_FOUND],
  ['AlreadyExists', 'alreadyExists', 'isAlreadyExists', GrpcCode.ALREADY_EXISTS],
  ['FailedPrecondition', 'failedPrecondition', 'isFailedPrecondition', GrpcCode.FAILED_PRECONDITION],
  ['Unavailable', 'unavailable', 'isUnavailable', GrpcCode.UNAVAILABLE],
  ['NotImplemented', 'notImplemented', 'isNotImplemented', GrpcCode.UNIMPLEMENTED],
  ['Aborted', 'aborted', 'isAborted', GrpcCode.ABORTED],
  ['OutOfRange', 'outOfRange', 'isOutOfRange', GrpcCode.OUT_OF_RANGE],
  ['DataLoss', 'dataLoss', 'isDataLoss', GrpcCode.DATA_LOSS],
  ['Canceled', 'canceled', 'isCanceled', GrpcCode.CANCELLED],
  ['DeadlineExceeded', 'deadlineExceeded', 'isDeadlineExceeded', GrpcCode.DEADLINE_EXCEEDED],
  ['PermissionDenied', 'permissionDenied', 'isPermissionDenied', GrpcCode.PERMISSION_DENIED],
  ['ResourceExhausted', 'resourceExhausted', 'isResourceExhausted', GrpcCode.RESOURCE_EXHAUSTED],
  ['Unauthenticated', 'unauthenticated', 'isUnauthenticated', GrpcCode.UNAUTHENTICATED],
  ['Internal', 'internal', 'isInternal', GrpcCode.INTERNAL],
];

const api = errdefs as unknown as Record<string, (...args: unknown[]) => unknown>;

describe('error kinds', () => {
  it('covers every kind exactly once', () => {
    expect(table.map((r) => r[0]).sort()).toEqual(Object.values(ErrorKind).sort());
    expect(new Set(table.map((r) => r[3])).size).toBe(table.length);
  });

  it.each(table)('%s: factory, guard and gRPC code agree', (kind, factory, guard, code) => {
    const err = api[factory]!('thing "x": bad') as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toBeInstanceOf(Error);
    expect(err.kind).toBe(kind);
    expect(err.message).toBe('thing "x": bad');
    expect((err as unknown as { code?: unknown }).code).toBeUndefined();
    expect(api[guard]!(err)).toBe(true);
    // every other guard says no
    for (const [, , other] of table) if (other !== guard) expect(api[other]!(err)).toBe(false);

    const status = toGrpcStatus(err);
    expect(status.code).toBe(code);
    expect(status.details).toBe('thing "x": bad');
    const back = fromGrpcError({ code, details: status.details, message: `${code} X: ${status.details}` });
    expect(back.kind).toBe(kind);
    expect(back.message).toBe('thing "x": bad');
  });
});

describe('cause chains', () => {
  it('guards find a kind behind plain wrapping errors', () => {
    const inner = errdefs.notFound('content sha256:abc: not found');
    const outer = new Error('reading manifest', { cause: new Error('step', { cause: inner }) });
    expect(errdefs.isNotFound(outer)).toBe(true);
    expect(kindOf(outer)).toBe(ErrorKind.NotFound);
  });

  it('withContext keeps the kind and prefixes the message', () => {
    const err = withContext(errdefs.unavailable('ref x: locked'), 'ingest layer');
    expect(err.kind).toBe(ErrorKind.Unavailable);
    expect(err.message).toBe('ingest layer: ref x: locked');
  });

  it('maps AbortError to Canceled and plain errors to Unknown', () => {
    const ac = new AbortController();
    ac.abort();
    expect(kindOf(ac.signal.reason)).toBe(ErrorKind.Canceled);
    expect(kindOf(new Error('boom'))).toBe(ErrorKind.Unknown);
    expect(kindOf('a string')).toBe(ErrorKind.Unknown);
    expect(toGrpcStatus(new Error('boom'))).toEqual({ code: GrpcCode.UNKNOWN, details: 'boom', message: 'boom' });
  });

  it('does not loop forever on a cyclic cause', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(kindOf(a)).toBe(ErrorKind.Unknown);
  });
});

describe('brand', () => {
  it('recognises an error from another copy of the package by its brand', () => {
    class Foreign extends Error {
      kind = 'NotFound';
      get [Symbol.for('berth.errdefs.BerthError')]() {
        return true;
      }
    }
    const foreign = new Foreign('x');
    expect(foreign instanceof BerthError).toBe(true);
    expect(errdefs.isNotFound(foreign)).toBe(true);
    expect(new Error('x') instanceof BerthError).toBe(false);
  });

  it('fromGrpcError maps unknown codes to Unknown and keeps the original as cause', () => {
    const original = { code: 99, details: 'weird' };
    const err = fromGrpcError(original);
    expect(err.kind).toBe(ErrorKind.Unknown);
    expect(err.cause).toBe(original);
    expect(fromGrpcError({ code: GrpcCode.OK }).kind).toBe(ErrorKind.Unknown);
  });
});
