import { Readable } from 'node:stream';
import { contentService } from '@berth/api';
import { failedPrecondition, outOfRange } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import { abortError, type CallOptions, type Connection } from './connection';
import type { ContentReadStream, ContentReadStreamOptions, ContentReaderAt } from './content-types';

const DEFAULT_CHUNK = 256 << 10;

/**
 * A committed blob read over `Content.Read`, as containerd's remote `ReaderAt` does it: the size
 * comes from `Content.Info` when the reader is opened, and each read is one `Read{digest,
 * offset, size}` call for exactly the bytes wanted.
 *
 * Unlike the local store's reader, this one holds nothing open on the server: a blob deleted
 * (or garbage-collected) while the reader is open makes later reads `NotFound`. Hold a lease
 * to prevent that.
 */
export class RemoteReaderAt implements ContentReaderAt {
  readonly size: number;
  readonly #conn: Connection;
  readonly #digest: Digest;
  readonly #opts: CallOptions;
  #closed = false;

  constructor(conn: Connection, digest: Digest, size: number, opts: CallOptions = {}) {
    this.#conn = conn;
    this.#digest = digest;
    this.size = size;
    this.#opts = opts;
  }

  /** Reads into `buffer` from `position`; fewer bytes only at the end. `position > size` is `OutOfRange`. */
  async readAt(buffer: Uint8Array, position: number): Promise<number> {
    const length = this.#range(position, buffer.byteLength);
    if (length === 0) return 0;
    let n = 0;
    for await (const res of this.#read(position, length, this.#opts)) {
      buffer.set(res.data.subarray(0, buffer.byteLength - n), n);
      n += res.data.byteLength;
    }
    return Math.min(n, buffer.byteLength);
  }

  /** Reads `length` bytes (default: to the end) from `position`; shorter only at the end. */
  async read(position: number, length?: number): Promise<Buffer> {
    const n = this.#range(position, length ?? this.size - position);
    return this.#collect(position, n, this.#opts);
  }

  /**
   * A stream of `[start, end]` (inclusive) that fetches one chunk per `Read` call, and only
   * while its buffer is below one chunk: a slow consumer keeps at most about two chunks in
   * memory however fast berthd can send. `start > size` throws `OutOfRange` at once.
   */
  createReadStream(options: ContentReadStreamOptions = {}): ContentReadStream {
    this.#checkOpen();
    const start = options.start ?? 0;
    if (start > this.size) throw outOfRange(`content ${this.#digest}: read at ${start} past object length ${this.size} bytes`);
    const stop = Math.min(options.end ?? this.size - 1, this.size - 1) + 1; // exclusive
    const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
    const signal = options.signal ?? this.#opts.signal;
    const callOpts: CallOptions = { ...this.#opts, ...(signal ? { signal } : {}) };
    let position = start;
    const reader = this;
    const stream = new Readable({
      highWaterMark: chunkSize,
      read() {
        if (position >= stop) {
          this.push(null);
          return;
        }
        const length = Math.min(chunkSize, stop - position);
        const at = position;
        position += length;
        reader.#collect(at, length, callOpts).then(
          (data) => {
            (stream as { bytesRead: number }).bytesRead += data.length;
            this.push(data);
          },
          (err: unknown) => this.destroy(err as Error),
        );
      },
    }) as Readable & { bytesRead: number };
    stream.bytesRead = 0;
    if (signal) {
      const onAbort = () => stream.destroy(abortError(signal));
      if (signal.aborted) queueMicrotask(onAbort);
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return stream;
  }

  /** Releases the reader (nothing is held on the server). Idempotent; reads after it reject. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw failedPrecondition(`content ${this.#digest}: reader is closed`);
  }

  /** The number of bytes to read at `position` for a request of `length`; `position > size` is OutOfRange. */
  #range(position: number, length: number): number {
    this.#checkOpen();
    if (position > this.size) throw outOfRange(`content ${this.#digest}: read at ${position} past object length ${this.size} bytes`);
    return Math.max(0, Math.min(length, this.size - position));
  }

  async #collect(position: number, length: number, opts: CallOptions): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const parts: Uint8Array[] = [];
    for await (const res of this.#read(position, length, opts)) parts.push(res.data);
    return Buffer.concat(parts);
  }

  #read(offset: number, size: number, opts: CallOptions): AsyncIterable<contentService.ReadContentResponse> {
    return this.#conn.serverStream(contentService.Content.methods.read, { digest: this.#digest, offset, size }, opts);
  }
}
