import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { alreadyExists, canceled, failedPrecondition, invalidArgument, isAlreadyExists, outOfRange } from '@berth/errdefs';
import { digestAlgorithm, validateLabels, type Digest, type DigestAlgorithm } from '@berth/spec';
import { mapFsError } from './fs-util';
import { hashFile } from './hash-file';
import { dropCachedRange } from './disk-hints';
import type { IngestLock } from './ingest-lock';
import type { IngestMeta } from './ingest-meta';
import { checkDigest } from './layout';
import type { CommitOptions, Status, Writer } from './types';

/** A write is dispatched once this much is queued and no write is in flight. */
const batchBytes = 4 << 20;
/** Upper bound of one writev. */
const maxBatchBytes = 16 << 20;
/** `write()` waits while this much is queued behind the write in flight (bounded memory). */
const queueLimitBytes = 32 << 20;
const maxIov = 1024;
/** Dirty data is flushed in the background every this many bytes, so the commit-time sync is short. */
const syncEveryBytes = 64 << 20;

/** What a LocalWriter needs from its store. */
export interface WriterHost {
  /** Links the finished data file into the blob tree; AlreadyExists if the digest is there. */
  publish(digest: Digest, labels: Record<string, string> | undefined): Promise<void>;
  /** Removes the ingest directory (data, meta and lock). */
  removeIngest(): Promise<void>;
}

/** Everything a LocalWriter starts from: an open data file (at its end) and the ref's lock. */
export interface WriterInit {
  meta: IngestMeta;
  fh: FileHandle;
  lock: IngestLock;
  /** Bytes already in the data file, and their digest state. */
  offset: number;
  hash: Hash;
  algorithm: DigestAlgorithm;
  host: WriterHost;
  signal?: AbortSignal;
}

/**
 * The local store's Writer. Throughput design: `write()` hashes each chunk on the main thread
 * and queues it; queued chunks go to disk in batches (one `writev` in the libuv pool at a time,
 * the next started as soon as the previous completes), so hashing the next chunks overlaps with
 * writing the previous ones. A `write()` waits only when 32 MiB are queued behind the write in
 * flight (bounded memory, real backpressure). Every 64 MiB an `fdatasync`
 * runs in the background, overlapping with hashing, so the sync at commit has little left, and
 * the range it wrote back is dropped from the page cache (see disk-hints.ts).
 */
export class LocalWriter implements Writer {
  readonly ref: string;
  readonly #init: WriterInit;
  readonly #fh: FileHandle;
  #hash: Hash;
  #offset: number;
  #written: number;
  #syncedTo = 0;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #sinceTurn = 0;
  #inflight: Promise<void> | null = null;
  #syncing: Promise<void> | null = null;
  #error: unknown;
  #state: 'open' | 'closed' | 'committed' = 'open';
  #updatedAt = new Date();
  readonly #onAbort = () => {
    this.#fail(canceled(`ref "${this.ref}": writer canceled`, { cause: this.#init.signal?.reason }));
    this.close().catch(() => {});
  };

  constructor(init: WriterInit) {
    this.#init = init;
    this.ref = init.meta.ref;
    this.#fh = init.fh;
    this.#hash = init.hash;
    this.#offset = this.#written = init.offset;
    init.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    if (!(chunk instanceof Uint8Array)) throw invalidArgument(`ref "${this.ref}": chunk must be a Uint8Array`);
    if (chunk.byteLength === 0) return;
    this.#hash.update(chunk);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    this.#offset += chunk.byteLength;
    if (!this.#inflight && this.#pendingBytes >= batchBytes) this.#dispatch();
    else if (this.#inflight && (this.#sinceTurn += chunk.byteLength) >= batchBytes) {
      // A caller that loops on write() with data at hand never returns to the event loop, so the
      // finished write's completion (which starts the next batch) would wait until the queue is
      // full, and disk and hashing would take turns. One turn per batch keeps both busy.
      this.#sinceTurn = 0;
      await nextTurn();
      this.#check();
    }
    while (this.#pendingBytes >= queueLimitBytes) {
      if (this.#inflight) await this.#inflight;
      else this.#dispatch();
      this.#check();
    }
  }

  digest(): Digest {
    return `${this.#init.algorithm}:${this.#hash.copy().digest('hex')}` as Digest;
  }

  async status(): Promise<Status> {
    this.#check();
    await this.#flush();
    const { meta } = this.#init;
    const status: Status = {
      ref: this.ref,
      offset: this.#written,
      total: meta.total,
      startedAt: new Date(meta.startedAt),
      updatedAt: this.#updatedAt,
    };
    if (meta.expected) status.expected = meta.expected;
    return status;
  }

  async truncate(size: number): Promise<void> {
    this.#check();
    if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`ref "${this.ref}": invalid truncate size ${size}`);
    if (size > this.#offset) throw outOfRange(`ref "${this.ref}": truncate to ${size} past offset ${this.#offset}`);
    await this.#flush();
    if (this.#syncing) await this.#syncing;
    await this.#fh.truncate(size);
    this.#hash = await hashFile(this.#fh, size, this.#init.algorithm);
    this.#offset = this.#written = size;
    this.#syncedTo = Math.min(this.#syncedTo, size);
    this.#updatedAt = new Date();
  }

  async commit(options: CommitOptions = {}): Promise<Digest> {
    if (this.#state !== 'open') throw failedPrecondition(`ref "${this.ref}": writer is ${this.#state}`);
    let removeIngest = false;
    try {
      this.#check();
      const size = options.size ?? this.#init.meta.total;
      const expected = options.expected !== undefined ? checkDigest(options.expected) : this.#init.meta.expected;
      validateLabels(options.labels);
      await this.#flush();
      if (size > 0 && size !== this.#written) {
        throw failedPrecondition(`ref "${this.ref}": unexpected commit size ${this.#written}, expected ${size}`);
      }
      let digest = this.digest();
      if (expected && digestAlgorithm(expected) !== this.#init.algorithm) {
        const hash = await hashFile(this.#fh, this.#written, digestAlgorithm(expected));
        digest = `${digestAlgorithm(expected)}:${hash.digest('hex')}` as Digest;
      }
      if (expected && expected !== digest) {
        throw failedPrecondition(`ref "${this.ref}": unexpected commit digest ${digest}, expected ${expected}`);
      }
      const now = new Date();
      await this.#fh.utimes(now, now);
      await this.#fh.chmod(0o444);
      if (this.#syncing) await this.#syncing;
      this.#check();
      await this.#fh.datasync();
      try {
        await this.#init.host.publish(digest, options.labels);
      } catch (err) {
        removeIngest = isAlreadyExists(err);
        throw err;
      }
      removeIngest = true;
      return digest;
    } catch (err) {
      throw mapFsError(err, `ref "${this.ref}"`);
    } finally {
      await this.#release('committed');
      // A failure to clean up must not hide the commit's outcome; a leftover ingest is abortable.
      if (removeIngest) await this.#init.host.removeIngest().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    try {
      if (this.#error === undefined) await this.#flush();
      else if (this.#inflight) await this.#inflight;
    } finally {
      await this.#release('closed');
    }
  }

  /** Closes the file and releases the lock; the first caller wins. */
  async #release(state: 'closed' | 'committed'): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = state;
    this.#init.signal?.removeEventListener('abort', this.#onAbort);
    try {
      if (this.#inflight) await this.#inflight;
      if (this.#syncing) await this.#syncing;
      await this.#fh.close();
    } finally {
      await this.#init.lock.release();
    }
  }

  #check(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state !== 'open') throw failedPrecondition(`ref "${this.ref}": writer is ${this.#state}`);
  }

  #fail(err: unknown): void {
    if (this.#error === undefined) this.#error = mapFsError(err, `ref "${this.ref}"`);
  }

  /** Writes everything queued. */
  async #flush(): Promise<void> {
    while (this.#inflight || this.#pendingBytes > 0) {
      if (this.#inflight) await this.#inflight;
      else this.#dispatch();
      if (this.#error !== undefined) throw this.#error;
    }
  }

  /** Starts one writev of queued chunks at the end of the data on disk. */
  #dispatch(): void {
    let count = 0;
    let bytes = 0;
    while (count < this.#pending.length && count < maxIov && bytes < maxBatchBytes) bytes += this.#pending[count++]!.byteLength;
    const buffers = this.#pending.splice(0, count);
    this.#pendingBytes -= bytes;
    const position = this.#written;
    this.#inflight = (async () => {
      try {
        await writeAll(this.#fh, buffers, bytes, position);
        this.#written += bytes;
        this.#updatedAt = new Date();
        this.#maybeSync();
      } catch (err) {
        this.#fail(err);
      } finally {
        this.#inflight = null;
      }
      // Keep the disk busy while the main thread hashes: start the next batch from here
      // rather than waiting for the next write() call.
      if (this.#error === undefined && this.#state === 'open' && this.#pendingBytes >= batchBytes) this.#dispatch();
    })();
  }

  #maybeSync(): void {
    if (this.#syncing || this.#written - this.#syncedTo < syncEveryBytes) return;
    const upTo = this.#written;
    this.#syncing = (async () => {
      try {
        const from = this.#syncedTo;
        await this.#fh.datasync();
        this.#syncedTo = upTo;
        await dropCachedRange(this.#fh.fd, from, upTo - from);
      } catch (err) {
        this.#fail(err);
      } finally {
        this.#syncing = null;
      }
    })();
  }
}

/** writev of all `buffers` at `position`, continuing after short writes. */
async function writeAll(fh: FileHandle, buffers: Uint8Array[], bytes: number, position: number): Promise<void> {
  let rest = buffers;
  let left = bytes;
  while (left > 0) {
    const { bytesWritten } = await fh.writev(rest, position);
    if (bytesWritten <= 0) throw new Error(`short write at offset ${position}`);
    position += bytesWritten;
    left -= bytesWritten;
    if (left === 0) break;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.byteLength) skip -= b.byteLength;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}

/** The AlreadyExists error of a digest that is already committed. */
export function contentExists(digest: Digest): Error {
  return alreadyExists(`content ${digest}: already exists`);
}
