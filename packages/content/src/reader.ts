import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { failedPrecondition, invalidArgument, outOfRange } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import type { ContentReadStream, ReadStreamOptions, ReaderAt } from './types';

const defaultChunk = 256 << 10;

/**
 * ReaderAt over an open blob file. The file handle pins the committed bytes, so a concurrent
 * delete does not disturb an open reader.
 */
export class LocalReaderAt implements ReaderAt {
  #fh: FileHandle | null;

  constructor(
    fh: FileHandle,
    readonly size: number,
    private readonly digest: Digest,
  ) {
    this.#fh = fh;
  }

  async readAt(buffer: Uint8Array, position: number): Promise<number> {
    const fh = this.#open();
    this.#checkPosition(position);
    const want = Math.min(buffer.byteLength, this.size - position);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buffer, got, want - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async read(position: number, length?: number): Promise<Buffer> {
    this.#checkPosition(position);
    const max = this.size - position;
    const want = length === undefined ? max : Math.min(length, max);
    if (!Number.isSafeInteger(want) || want < 0) throw invalidArgument(`content ${this.digest}: invalid read length ${length}`);
    const buffer = Buffer.allocUnsafe(want);
    const got = await this.readAt(buffer, position);
    return buffer.subarray(0, got);
  }

  createReadStream(options: ReadStreamOptions = {}): ContentReadStream {
    const start = options.start ?? 0;
    this.#checkPosition(start);
    const end = Math.min(options.end ?? this.size - 1, this.size - 1);
    const chunkSize = options.chunkSize ?? defaultChunk;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw invalidArgument(`content ${this.digest}: invalid chunk size`);
    return new BlobReadStream(this, start, end + 1, chunkSize, options.signal);
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    await fh?.close();
  }

  #open(): FileHandle {
    if (!this.#fh) throw failedPrecondition(`content ${this.digest}: reader is closed`);
    return this.#fh;
  }

  #checkPosition(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0) throw invalidArgument(`content ${this.digest}: invalid offset ${position}`);
    if (position > this.size) throw outOfRange(`content ${this.digest}: offset ${position} beyond size ${this.size}`);
  }
}

/**
 * ReaderAt over bytes in memory (a small blob read once and cached): reads copy out of `bytes`,
 * which the caller must not change afterwards.
 */
export class BufferReaderAt implements ReaderAt {
  #closed = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly digest: Digest,
  ) {}

  get size(): number {
    return this.bytes.byteLength;
  }

  async readAt(buffer: Uint8Array, position: number): Promise<number> {
    this.#check(position);
    const n = Math.min(buffer.byteLength, this.size - position);
    buffer.set(this.bytes.subarray(position, position + n));
    return n;
  }

  async read(position: number, length?: number): Promise<Buffer> {
    this.#check(position);
    const max = this.size - position;
    const want = length === undefined ? max : Math.min(length, max);
    if (!Number.isSafeInteger(want) || want < 0) throw invalidArgument(`content ${this.digest}: invalid read length ${length}`);
    return Buffer.from(this.bytes.subarray(position, position + want));
  }

  createReadStream(options: ReadStreamOptions = {}): ContentReadStream {
    const start = options.start ?? 0;
    this.#check(start);
    const end = Math.min(options.end ?? this.size - 1, this.size - 1);
    const chunkSize = options.chunkSize ?? defaultChunk;
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw invalidArgument(`content ${this.digest}: invalid chunk size`);
    return new BlobReadStream(this, start, end + 1, chunkSize, options.signal);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #check(position: number): void {
    if (this.#closed) throw failedPrecondition(`content ${this.digest}: reader is closed`);
    if (!Number.isSafeInteger(position) || position < 0) throw invalidArgument(`content ${this.digest}: invalid offset ${position}`);
    if (position > this.size) throw outOfRange(`content ${this.digest}: offset ${position} beyond size ${this.size}`);
  }
}

/**
 * A Readable over `[start, stop)` of a ReaderAt. It reads one chunk per `_read`, which Node calls
 * only while the buffer is below the high-water mark (one chunk): the stream never runs more
 * than about two chunks ahead of its consumer.
 */
class BlobReadStream extends Readable implements ContentReadStream {
  #position: number;
  #bytesRead = 0;

  constructor(
    private readonly reader: ReaderAt,
    start: number,
    private readonly stop: number,
    private readonly chunkSize: number,
    signal: AbortSignal | undefined,
  ) {
    super({ highWaterMark: chunkSize, ...(signal ? { signal } : {}) });
    this.#position = start;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  override _read(): void {
    const want = Math.min(this.chunkSize, this.stop - this.#position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(want);
    this.reader.readAt(buffer, this.#position).then(
      (got) => {
        if (got === 0) return void this.push(null);
        this.#position += got;
        this.#bytesRead += got;
        this.push(got === want ? buffer : buffer.subarray(0, got));
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }
}
