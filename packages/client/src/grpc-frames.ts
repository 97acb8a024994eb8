/**
 * gRPC over HTTP/2, the parts that are not HTTP/2: length-prefixed messages, the status a call
 * ends with (`grpc-status`, `grpc-message`), and the `grpc-timeout` header. As in the gRPC
 * protocol spec (PROTOCOL-HTTP2.md); no compression is ever negotiated.
 */

/** The gRPC status codes this transport produces itself (the server's come through as numbers). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** How a call ended: the status code, its message, and the trailers (other than the status). */
export interface CallStatus {
  code: number;
  details: string;
  metadata: Record<string, string>;
}

/**
 * The error of a call that ended with a status other than OK. `fromGrpcError` (errdefs) reads
 * its numeric `code` and its `details`; the message reads like grpc-js's (`5 NOT_FOUND: …`).
 */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  readonly code: number;
  readonly details: string;
  readonly metadata: Record<string, string>;

  constructor(status: CallStatus) {
    super(`${status.code} ${CODE_NAMES[status.code] ?? 'UNKNOWN'}: ${status.details}`);
    this.code = status.code;
    this.details = status.details;
    this.metadata = status.metadata;
  }
}

/** A status made here (not received): no trailers. */
export function localStatus(code: number, details: string): CallStatus {
  return { code, details, metadata: {} };
}

/** One message as it goes on the wire: flag 0 (uncompressed), 4-byte big-endian length, bytes. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/**
 * Cuts a response body (DATA frames, in any chunking) into messages. Throws a GrpcStatusError:
 * RESOURCE_EXHAUSTED for a message over `maxBytes`, INTERNAL for a compressed one.
 */
export class MessageParser {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The length of the message being read, once its prefix is in; -1 while waiting for one. */
  #messageLength = -1;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The messages `chunk` completes (often none or one). */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.#messageLength < 0) {
        if (this.#buffered < 5) break;
        const prefix = this.#take(5);
        if (prefix[0] !== 0) throw new GrpcStatusError(localStatus(GrpcCode.INTERNAL, 'received a compressed message, but no compression was negotiated'));
        const length = prefix.readUInt32BE(1);
        if (length > this.#maxBytes) throw new GrpcStatusError(localStatus(GrpcCode.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${this.#maxBytes})`));
        this.#messageLength = length;
      }
      if (this.#buffered < this.#messageLength) break;
      messages.push(this.#take(this.#messageLength));
      this.#messageLength = -1;
    }
    return messages;
  }

  /** True when a message was cut off (the body ended inside one). */
  get partial(): boolean {
    return this.#buffered > 0 || this.#messageLength >= 0;
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let used = 0; // whole chunks consumed, dropped at once (not one shift each)
    while (at < n) {
      const chunk = this.#chunks[used]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) used++;
      else this.#chunks[used] = chunk.subarray(part);
    }
    this.#chunks.splice(0, used);
    return out;
  }
}

/**
 * The status in a header block (the trailers, or the headers of a Trailers-Only response), or
 * undefined when it has none. `grpc-message` is percent-decoded; the other non-pseudo headers
 * are the metadata.
 */
export function statusOf(headers: Record<string, string | string[] | undefined>): CallStatus | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  const message = headers['grpc-message'];
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(':') || k === 'grpc-status' || k === 'grpc-message' || v === undefined) continue;
    metadata[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return {
    code: Number.isInteger(code) && code >= 0 ? code : GrpcCode.UNKNOWN,
    details: message === undefined ? '' : percentDecode(Array.isArray(message) ? message[0]! : message),
    metadata,
  };
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The `grpc-timeout` header for a deadline `ms` from now: at most 8 digits, in ms or coarser units. */
export function grpcTimeout(ms: number): string {
  const n = Math.max(0, Math.ceil(ms));
  if (n < 1e8) return `${n}m`;
  if (n / 1000 < 1e8) return `${Math.ceil(n / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(n / 3_600_000))}H`;
}
