import { describe, expect, it } from 'vitest';
import { BerthError, ErrorKind, kindOf } from '@berth/errdefs';
import { errorOfStatus, isOk, statusOfError } from './status';

describe('status', () => {
  it.each([
    [ErrorKind.NotFound, 5],
    [ErrorKind.FailedPrecondition, 9],
    [ErrorKind.InvalidArgument, 3],
    [ErrorKind.AlreadyExists, 6],
    [ErrorKind.Unavailable, 14],
    [ErrorKind.NotImplemented, 12],
    [ErrorKind.DeadlineExceeded, 4],
    [ErrorKind.Canceled, 1],
  ])('%s travels as code %i and comes back as the same kind', (kind, code) => {
    const status = statusOfError(new BerthError(kind, 'task c1: it happened'));
    expect(status).toEqual({ code, message: 'task c1: it happened' });
    const back = errorOfStatus({ ...status, details: [] });
    expect(back.kind).toBe(kind);
    expect(back.message).toBe('task c1: it happened');
  });

  it('sends a plain Error as Unknown with its message', () => {
    expect(statusOfError(new Error('boom'))).toEqual({ code: 2, message: 'boom' });
    expect(statusOfError('not an error')).toEqual({ code: 2, message: 'not an error' });
  });

  it('keeps the kind of a wrapped BerthError', () => {
    const err = new Error('wrapped', { cause: new BerthError(ErrorKind.NotFound, 'inner') });
    expect(statusOfError(err).code).toBe(5);
  });

  it('treats an absent status and code 0 as OK', () => {
    expect(isOk(undefined)).toBe(true);
    expect(isOk({ code: 0, message: '', details: [] })).toBe(true);
    expect(isOk({ code: 5, message: '', details: [] })).toBe(false);
  });

  it('gives an unknown code Unknown and an empty message a placeholder', () => {
    const err = errorOfStatus({ code: 99, message: '', details: [] });
    expect(kindOf(err)).toBe(ErrorKind.Unknown);
    expect(err.message).toMatch(/99/);
  });
});
