import { kindOf } from './errors';
import { ErrorKind } from './kinds';

/** Guards by kind. Each walks the `cause` chain, so a wrapped error keeps its kind. */
const is =
  (kind: ErrorKind) =>
  (err: unknown): boolean =>
    kindOf(err) === kind;

export const isUnknown = is(ErrorKind.Unknown);
export const isInvalidArgument = is(ErrorKind.InvalidArgument);
export const isNotFound = is(ErrorKind.NotFound);
export const isAlreadyExists = is(ErrorKind.AlreadyExists);
export const isFailedPrecondition = is(ErrorKind.FailedPrecondition);
export const isUnavailable = is(ErrorKind.Unavailable);
export const isNotImplemented = is(ErrorKind.NotImplemented);
export const isAborted = is(ErrorKind.Aborted);
export const isOutOfRange = is(ErrorKind.OutOfRange);
export const isDataLoss = is(ErrorKind.DataLoss);
export const isCanceled = is(ErrorKind.Canceled);
export const isDeadlineExceeded = is(ErrorKind.DeadlineExceeded);
export const isPermissionDenied = is(ErrorKind.PermissionDenied);
export const isResourceExhausted = is(ErrorKind.ResourceExhausted);
export const isUnauthenticated = is(ErrorKind.Unauthenticated);
export const isInternal = is(ErrorKind.Internal);
