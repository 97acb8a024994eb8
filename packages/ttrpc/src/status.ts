// Errors on the wire: a ttrpc response carries a google.rpc.Status; its code is the gRPC code
// of the error's kind (errdefs' table), both ways.
import type { rpc } from '@berth/api';
import { BerthError, grpcCodeOfKind, kindOf, kindOfGrpcCode } from '@berth/errdefs';

/** The status a server sends for `err`: a BerthError's kind and message; anything else `Unknown` with its message. */
export function statusOfError(err: unknown): { code: number; message: string } {
  return { code: grpcCodeOfKind[kindOf(err)], message: err instanceof Error ? err.message : String(err) };
}

/** True when a response's status means success (absent, or code 0). */
export function isOk(status: rpc.Status | undefined): boolean {
  return status === undefined || status.code === 0;
}

/** The BerthError a client raises for a non-OK status: the code's kind, the server's message. */
export function errorOfStatus(status: rpc.Status): BerthError {
  const message = status.message !== '' ? status.message : `ttrpc: call failed with status code ${status.code}`;
  return new BerthError(kindOfGrpcCode(status.code), message);
}
