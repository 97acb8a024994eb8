import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor';
import type { Digest } from './digest';

/**
 * Role interfaces of a content store, after containerd's `core/content`. No I/O here.
 *
 * Vocabulary: a *blob* is committed content, addressed by its digest and immutable; an *ingest*
 * is content being written, addressed by a caller-chosen `ref`. Content is invisible to
 * `Provider`, `InfoProvider` and `Manager` until its ingest is committed.
 *
 * Errors carry an `@berth/errdefs` kind, and callers branch on it: `NotFound` (no such blob or
 * ingest), `AlreadyExists` (the blob is already committed: treat as success), `Unavailable` (the
 * ref is locked by a live writer: retry later), `FailedPrecondition` (a commit whose size or digest
 * does not match), `InvalidArgument` (a malformed digest, ref, label or fieldpath), `OutOfRange`
 * (an offset past the end).
 */

/** The metadata of a committed blob. `digest`, `size` and `createdAt` never change. */
export interface Info {
  digest: Digest;
  /** Size in bytes. */
  size: number;
  createdAt: Date;
  /** Changes when labels are updated. */
  updatedAt: Date;
  /** Free-form labels (for example `containerd.io/gc.ref.content.l.0`). Key + value ≤ 4096 bytes. */
  labels: Record<string, string>;
}

/** The state of an ingest in progress. */
export interface Status {
  ref: string;
  /** Bytes written so far (what a resumed writer continues from). */
  offset: number;
  /** The announced total size, 0 when unknown. */
  total: number;
  /** The digest the content must have at commit, when announced. */
  expected?: Digest;
  startedAt: Date;
  updatedAt: Date;
}

/** What `readerAt` needs of a descriptor: the digest; a size, when given, is not trusted. */
export type BlobRef = Pick<Descriptor, 'digest'> & Partial<Pick<Descriptor, 'size'>>;

/** Options of `ReaderAt.createReadStream`. */
export interface ReadStreamOptions {
  /** First byte to read (default 0). Past the end of the blob is `OutOfRange`. */
  start?: number;
  /** Last byte to read, **inclusive** as in `fs.createReadStream` (default: the last byte). */
  end?: number;
  /** Bytes per chunk and the stream's high-water mark (default 256 KiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** A readable stream of blob bytes with `bytesRead`: bytes taken from the source so far. */
export interface ContentReadStream extends Readable {
  readonly bytesRead: number;
}

/**
 * Random access to one committed blob. Reads see exactly the committed bytes, even if the blob
 * is deleted while the reader is open. Call `close()` when done; reading after close rejects.
 */
export interface ReaderAt {
  /** The blob's size in bytes. */
  readonly size: number;
  /**
   * Reads into `buffer` from `position`; resolves with the number of bytes read, less than
   * `buffer.length` only at the end of the blob. `position > size` is `OutOfRange`.
   */
  readAt(buffer: Uint8Array, position: number): Promise<number>;
  /** Reads `length` bytes (default: to the end) from `position`; shorter only at the end. */
  read(position: number, length?: number): Promise<Buffer>;
  /**
   * A stream of the range with backpressure: it reads from the source only while its buffer is
   * below one chunk, so a slow consumer keeps memory bounded. The stream does not close the
   * reader.
   */
  createReadStream(options?: ReadStreamOptions): ContentReadStream;
  /** Releases the reader. Idempotent. */
  close(): Promise<void>;
}

/** Gives the metadata of a committed blob. */
export interface InfoProvider {
  /** The blob's Info; `NotFound` when not committed, `InvalidArgument` for a malformed digest. */
  info(digest: Digest | string): Promise<Info>;
}

/** Reads committed blobs. Content is invisible to a Provider until its ingest is committed. */
export interface Provider {
  /** Opens a blob for random access; `NotFound` when not committed. */
  readerAt(desc: BlobRef): Promise<ReaderAt>;
}

/** Options of `Ingester.writer`. */
export interface WriterOptions {
  /** Names the ingest; writers on the same ref resume it. Must not be empty. */
  ref: string;
  /** The expected total size; checked at commit. 0 or absent when unknown. */
  total?: number;
  /** The expected digest; checked at commit. If already committed, `writer()` is `AlreadyExists`. */
  expected?: Digest | string;
  /** Aborting closes the writer (the ingest stays resumable); pending calls reject `Canceled`. */
  signal?: AbortSignal;
}

/** Options of `Writer.commit`. */
export interface CommitOptions {
  /** The size the content must have (default: the writer's `total`, if known). */
  size?: number;
  /** The digest the content must have (default: the writer's `expected`, if any). */
  expected?: Digest | string;
  /** Labels of the new blob, visible together with it. */
  labels?: Record<string, string>;
}

/**
 * Writes one ingest. A writer holds the lock on its ref until `commit()` or `close()`.
 *
 * Like Node's `Writable`, the writer may keep a reference to a chunk until it is on disk: do not
 * modify a buffer after passing it to `write()`.
 */
export interface Writer {
  readonly ref: string;
  /**
   * Appends `chunk`. Resolves when the writer can take more; await it (backpressure): the writer
   * buffers at most a few MiB. Errors are sticky: after one, every call rejects with it.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** The digest of everything written so far (the ingest from offset 0, across resumes). */
  digest(): Digest;
  /** The ingest's status, after all accepted data has reached the ingest file. */
  status(): Promise<Status>;
  /** Cuts the ingest to `size` bytes (0 restarts it) and rewinds the digest; `size > offset` is `OutOfRange`. */
  truncate(size: number): Promise<void>;
  /**
   * Verifies and publishes the content: size (if given or known) and digest (if expected) must
   * match, else `FailedPrecondition` and nothing becomes visible (the ingest stays, to be
   * truncated or aborted). Without an expected digest the blob is committed under the computed
   * one. If the digest is already committed: `AlreadyExists`, and the ingest is removed.
   * Data is made durable before the blob appears, so a crash leaves no blob or a complete one.
   * `commit()` always closes the writer, even on error. Resolves with the blob's digest.
   */
  commit(options?: CommitOptions): Promise<Digest>;
  /** Releases the ref's lock, keeping the ingest resumable. Idempotent; no-op after commit. */
  close(): Promise<void>;
}

/** Starts or resumes ingests. */
export interface Ingester {
  /**
   * Opens a writer on `ref`. An existing ingest of that ref (also one left by another or a crashed
   * process) is resumed at its current offset; otherwise a new one starts. `AlreadyExists` if
   * `expected` is already committed; `Unavailable` if a live writer (in this or another process)
   * holds the ref; `FailedPrecondition` if `total`/`expected` differ from the resumed ingest's.
   */
  writer(options: WriterOptions): Promise<Writer>;
}

/** Inspects and aborts ingests in progress. */
export interface IngestManager {
  /** The ingest's status; `NotFound` if there is none. */
  status(ref: string): Promise<Status>;
  /**
   * Statuses of all ingests matching any of the containerd filters (fieldpaths `ref`, `expected`).
   * No filter, or an empty string, matches everything.
   */
  listStatuses(...filters: string[]): Promise<Status[]>;
  /** Removes an ingest and its data. `NotFound` if there is none; `Unavailable` while a live writer holds it. */
  abort(ref: string): Promise<void>;
}

/** Callback of `Manager.walk`; may be async, and is awaited before the next blob. */
export type WalkFunc = (info: Info) => void | Promise<void>;

/** Lists, labels and deletes committed blobs. */
export interface Manager extends InfoProvider {
  /**
   * Updates a blob's labels and returns the new Info. `fieldpaths` select what changes:
   * `labels` replaces all labels, `labels.<key>` sets one (an empty or absent value deletes it);
   * none means `labels`. `digest`, `size` and `createdAt` are immutable: naming them, or any
   * unknown fieldpath, is `InvalidArgument`. `NotFound` if the blob is not committed.
   */
  update(info: Pick<Info, 'digest'> & Partial<Pick<Info, 'labels'>>, fieldpaths?: string[]): Promise<Info>;
  /**
   * Calls `fn` for every committed blob matching any of the containerd filters (fieldpaths
   * `digest`, `size`, `labels.<key>`). No filter, or an empty string, matches everything.
   */
  walk(fn: WalkFunc, ...filters: string[]): Promise<void>;
  /** Deletes a blob (and its labels). `NotFound` if it is not committed. */
  delete(digest: Digest | string): Promise<void>;
}

/** A full content store: every role above. */
export interface ContentStore extends Manager, Provider, IngestManager, Ingester {}
