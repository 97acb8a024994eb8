import { ErrorKind } from './kinds';

const brand = Symbol.for('berth.errdefs.BerthError');

/**
 * An error of one of berth's kinds. The message names the object it is about, lower-case,
 * with a context prefix (`content sha256:…: not found`). `cause` carries the underlying error.
 *
 * The gRPC code is deliberately not a `.code` property: grpc-js treats any numeric `.code`
 * on a thrown error as the status. Convert at the wire with `toGrpcStatus`/`fromGrpcError`.
 *
 * `instanceof` works across duplicate copies of this package (the check is by brand).
 */
export class BerthError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `BerthError(${kind})`;
  }

  /** True for any BerthError, from any copy of this package. */
  static isInstance(value: unknown): value is BerthError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return BerthError.isInstance(value);
  }

  get [brand](): true {
    return true;
  }
}

type Factory = (message: string, options?: { cause?: unknown }) => BerthError;
const factory =
  (kind: ErrorKind): Factory =>
  (message, options) =>
    new BerthError(kind, message, options);

export const unknown = factory(ErrorKind.Unknown);
export const invalidArgument = factory(ErrorKind.InvalidArgument);
export const notFound = factory(ErrorKind.NotFound);
export const alreadyExists = factory(ErrorKind.AlreadyExists);
export const failedPrecondition = factory(ErrorKind.FailedPrecondition);
export const unavailable = factory(ErrorKind.Unavailable);
export const notImplemented = factory(ErrorKind.NotImplemented);
export const aborted = factory(ErrorKind.Aborted);
export const outOfRange = factory(ErrorKind.OutOfRange);
export const dataLoss = factory(ErrorKind.DataLoss);
export const canceled = factory(ErrorKind.Canceled);
export const deadlineExceeded = factory(ErrorKind.DeadlineExceeded);
export const permissionDenied = factory(ErrorKind.PermissionDenied);
export const resourceExhausted = factory(ErrorKind.ResourceExhausted);
export const unauthenticated = factory(ErrorKind.Unauthenticated);
export const internal = factory(ErrorKind.Internal);

/**
 * Adds context to an error while keeping its kind: `withContext(err, 'unpack busybox')`
 * gives `unpack busybox: <message>` of the same kind, with `err` as the cause.
 */
export function withContext(err: unknown, context: string): BerthError {
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError(kindOf(err), `${context}: ${message}`, { cause: err });
}

/**
 * The kind of an error: the first BerthError on its `cause` chain; an AbortError (from an
 * AbortSignal) is `Canceled`, a TimeoutError `DeadlineExceeded`; anything else `Unknown`.
 */
export function kindOf(err: unknown): ErrorKind {
  for (let e = err, depth = 0; e != null && depth < 32; depth++) {
    if (BerthError.isInstance(e)) return e.kind;
    if (e instanceof Error) {
      if (e.name === 'AbortError') return ErrorKind.Canceled;
      if (e.name === 'TimeoutError') return ErrorKind.DeadlineExceeded;
      e = e.cause;
    } else break;
  }
  return ErrorKind.Unknown;
}
