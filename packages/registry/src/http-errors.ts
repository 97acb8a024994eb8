import type { IncomingMessage } from 'node:http';
import {
  BerthError,
  dataLoss,
  failedPrecondition,
  invalidArgument,
  notFound,
  notImplemented,
  outOfRange,
  permissionDenied,
  unauthenticated,
  unavailable,
  unknown,
} from '@berth/errdefs';

/** One entry of the distribution spec's error body, `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

const byCode: Record<string, (m: string) => BerthError> = {
  BLOB_UNKNOWN: notFound,
  MANIFEST_UNKNOWN: notFound,
  NAME_UNKNOWN: notFound,
  BLOB_UPLOAD_UNKNOWN: notFound,
  DIGEST_INVALID: dataLoss,
  SIZE_INVALID: dataLoss,
  MANIFEST_BLOB_UNKNOWN: failedPrecondition,
  MANIFEST_INVALID: invalidArgument,
  MANIFEST_UNVERIFIED: invalidArgument,
  NAME_INVALID: invalidArgument,
  TAG_INVALID: invalidArgument,
  BLOB_UPLOAD_INVALID: invalidArgument,
  RANGE_INVALID: outOfRange,
  UNAUTHORIZED: unauthenticated,
  DENIED: permissionDenied,
  UNSUPPORTED: notImplemented,
  TOOMANYREQUESTS: unavailable,
};

function byStatus(status: number): (m: string) => BerthError {
  if (status === 404) return notFound;
  if (status === 401) return unauthenticated;
  if (status === 403) return permissionDenied;
  if (status === 405 || status === 501) return notImplemented;
  if (status === 416) return outOfRange;
  if (status === 429 || status >= 500) return unavailable;
  if (status === 400) return invalidArgument;
  return unknown;
}

/**
 * The error for a registry response that was not a success: the kind from the first error code
 * in the body (`MANIFEST_BLOB_UNKNOWN` → FailedPrecondition, `DIGEST_INVALID` → DataLoss, …)
 * or else from the status, the message `<what>: <status> <registry message>`. Consumes the body.
 */
export async function responseError(res: IncomingMessage, what: string): Promise<BerthError> {
  const status = res.statusCode ?? 0;
  let entries: RegistryErrorEntry[] = [];
  try {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of res as AsyncIterable<Buffer>) {
      if ((n += c.length) <= 65536) chunks.push(c);
    }
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: RegistryErrorEntry[] };
    if (Array.isArray(parsed.errors)) entries = parsed.errors.filter((e) => typeof e?.code === 'string');
  } catch {
    // Not a distribution error body (a HEAD, a proxy's HTML page): the status alone decides.
  }
  const first = entries[0];
  const make = (first && byCode[first.code]) || byStatus(status);
  const detail = entries.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ');
  return make(`${what}: ${status} ${detail || res.statusMessage || ''}`.trimEnd());
}
