import { BerthError, kindOf } from './errors';
import { ErrorKind, grpcCodeOfKind, kindOfGrpcCode, type GrpcCode } from './kinds';

/** The shape grpc-js accepts as a call's error (`callback(status)` / `call.destroy(status)`). */
export interface GrpcStatusObject {
  code: GrpcCode;
  details: string;
  message: string;
}

/**
 * Converts any error into the gRPC status the server sends. Used once, at the server edge.
 * Unknown errors become `UNKNOWN` with their message.
 */
export function toGrpcStatus(err: unknown): GrpcStatusObject {
  const code = grpcCodeOfKind[kindOf(err)];
  const details = err instanceof Error ? err.message : String(err);
  return { code, details, message: details };
}

/**
 * Converts an error a gRPC client received back into a BerthError of the matching kind.
 * Used once, at the client edge. The status details become the message; the original error
 * is the cause.
 */
export function fromGrpcError(err: unknown): BerthError {
  if (BerthError.isInstance(err)) return err;
  const status = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  const code = typeof status?.code === 'number' ? status.code : undefined;
  const kind = code === undefined ? ErrorKind.Unknown : kindOfGrpcCode(code);
  const message =
    typeof status?.details === 'string' && status.details !== ''
      ? status.details
      : typeof status?.message === 'string'
        ? status.message
        : String(err);
  return new BerthError(kind, message, { cause: err });
}
