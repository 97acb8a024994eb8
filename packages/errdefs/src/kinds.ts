/**
 * The closed set of error kinds berth uses. Callers branch on the kind, never on the
 * message: `AlreadyExists` on a commit means "done", `Unavailable` on a locked ingest
 * means "retry", `NotFound` during cleanup is ignored.
 */
export const ErrorKind = {
  Unknown: 'Unknown',
  InvalidArgument: 'InvalidArgument',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  FailedPrecondition: 'FailedPrecondition',
  Unavailable: 'Unavailable',
  NotImplemented: 'NotImplemented',
  Aborted: 'Aborted',
  OutOfRange: 'OutOfRange',
  DataLoss: 'DataLoss',
  Canceled: 'Canceled',
  DeadlineExceeded: 'DeadlineExceeded',
  PermissionDenied: 'PermissionDenied',
  ResourceExhausted: 'ResourceExhausted',
  Unauthenticated: 'Unauthenticated',
  Internal: 'Internal',
} as const;

export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** gRPC status codes (grpc/doc/statuscodes.md), without a dependency on a gRPC library. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The gRPC status code each kind travels as. Exactly one kind per code, so the table inverts. */
export const grpcCodeOfKind: Readonly<Record<ErrorKind, GrpcCode>> = {
  Unknown: GrpcCode.UNKNOWN,
  InvalidArgument: GrpcCode.INVALID_ARGUMENT,
  NotFound: GrpcCode.NOT_FOUND,
  AlreadyExists: GrpcCode.ALREADY_EXISTS,
  FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
  Unavailable: GrpcCode.UNAVAILABLE,
  NotImplemented: GrpcCode.UNIMPLEMENTED,
  Aborted: GrpcCode.ABORTED,
  OutOfRange: GrpcCode.OUT_OF_RANGE,
  DataLoss: GrpcCode.DATA_LOSS,
  Canceled: GrpcCode.CANCELLED,
  DeadlineExceeded: GrpcCode.DEADLINE_EXCEEDED,
  PermissionDenied: GrpcCode.PERMISSION_DENIED,
  ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
  Unauthenticated: GrpcCode.UNAUTHENTICATED,
  Internal: GrpcCode.INTERNAL,
};

/** The kind a gRPC status code maps back to; codes with no kind (OK, unknown numbers) give `Unknown`. */
export function kindOfGrpcCode(code: number): ErrorKind {
  return kindByCode.get(code) ?? ErrorKind.Unknown;
}

const kindByCode = new Map<number, ErrorKind>(
  Object.entries(grpcCodeOfKind).map(([kind, code]) => [code, kind as ErrorKind]),
);
