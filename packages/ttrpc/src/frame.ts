// ttrpc framing (containerd/ttrpc PROTOCOL.md): a 10-byte header, then `length` bytes of data.
//
//   0       4           8      9      10
//   | length | stream id | type | flags | data ...
//
// Both integers are big-endian uint32.
import { resourceExhausted } from '@berth/errdefs';

export const HEADER_LENGTH = 10;

/** The largest data length a frame may carry (4 MiB); larger frames are rejected. */
export const MAX_DATA_LENGTH = 4 << 20;

/** Frame types. This package handles requests and responses; data frames belong to streams. */
export const MessageType = {
  Request: 1,
  Response: 2,
  Data: 3,
} as const;

/** Frame flags (streams only; unary calls send 0). */
export const Flags = {
  /** The sender will send no more data on this stream. */
  RemoteClosed: 0x1,
  /** The sender will send data frames after this one (a client stream). */
  RemoteOpen: 0x2,
  /** The frame carries no data. */
  NoData: 0x4,
} as const;

export interface FrameHeader {
  /** Length of the data after the header. */
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  data: Uint8Array;
}

export function encodeHeader(header: FrameHeader): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH);
  buf.writeUInt32BE(header.length, 0);
  buf.writeUInt32BE(header.streamId, 4);
  buf.writeUInt8(header.type, 8);
  buf.writeUInt8(header.flags, 9);
  return buf;
}

/** Reads a header from the first 10 bytes of `buf`. */
export function decodeHeader(buf: Uint8Array): FrameHeader {
  const view = new DataView(buf.buffer, buf.byteOffset, HEADER_LENGTH);
  return { length: view.getUint32(0), streamId: view.getUint32(4), type: view.getUint8(8), flags: view.getUint8(9) };
}

/** One buffer holding the frame's header and data. `ResourceExhausted` when the data is over the limit. */
export function encodeFrame(frame: Frame): Buffer {
  checkLength(frame.data.length, frame.streamId);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + frame.data.length);
  encodeHeader({ ...frame, length: frame.data.length }).copy(out, 0);
  out.set(frame.data, HEADER_LENGTH);
  return out;
}

function checkLength(length: number, streamId: number): void {
  if (length > MAX_DATA_LENGTH) {
    throw resourceExhausted(`ttrpc stream ${streamId}: frame of ${length} bytes exceeds the ${MAX_DATA_LENGTH}-byte limit`);
  }
}

/**
 * Cuts a byte stream into frames, whatever the chunking: a frame may arrive split over many
 * chunks, and one chunk may hold several frames. `push` returns the frames a chunk completed,
 * in order. A header announcing more than 4 MiB throws `ResourceExhausted` at once (before its
 * data arrives); the reader is unusable afterwards, and the connection should be closed.
 *
 * Frame data may share memory with the pushed chunks (no copy when a frame lies in one chunk).
 */
export class FrameReader {
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  private header: FrameHeader | undefined;
  private failed = false;

  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw resourceExhausted('ttrpc: frame reader failed earlier');
    if (chunk.length > 0) {
      // Plain views (not Buffers), so frame data is the same kind of value however it arrived.
      this.chunks.push(chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (!this.header) {
        if (this.buffered < HEADER_LENGTH) break;
        const header = decodeHeader(this.take(HEADER_LENGTH));
        try {
          checkLength(header.length, header.streamId);
        } catch (err) {
          this.failed = true;
          throw err;
        }
        this.header = header;
      }
      if (this.buffered < this.header.length) break;
      const { streamId, type, flags, length } = this.header;
      frames.push({ streamId, type, flags, data: this.take(length) });
      this.header = undefined;
    }
    return frames;
  }

  /** Removes the first `n` buffered bytes: a view when they lie in one chunk, else a copy. */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.buffered -= n;
    const first = this.chunks[this.head]!;
    if (first.length >= n) {
      this.consume(first, n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; ) {
      const chunk = this.chunks[this.head]!;
      const part = Math.min(chunk.length, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      this.consume(chunk, part);
    }
    return out;
  }

  /** Drops `n` bytes of the head chunk. A head index, not `shift()`, keeps byte-sized chunks linear. */
  private consume(chunk: Uint8Array, n: number): void {
    if (n < chunk.length) {
      this.chunks[this.head] = chunk.subarray(n);
      return;
    }
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}
