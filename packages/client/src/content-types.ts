import type { Readable } from 'node:stream';
import type { Descriptor, Digest } from '@berth/spec';

// The shapes of @berth/content's types (src/types.ts), declared here because @berth/client
// depends on no library package, not even for types: TypeScript is structural, so a
// `ContentClient` is a `ContentStore` wherever one is expected. Keep the two in step; the
// conformance tests (tests/conformance) assign one to the other and run the store suite.

/** The metadata of a committed blob (@berth/content `Info`). */
export interface ContentInfo {
  digest: Digest;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

/** The state of an ingest in progress (@berth/content `Status`). */
export interface ContentStatus {
  ref: string;
  /** Bytes written so far. */
  offset: number;
  /** The announced total size, 0 when unknown. */
  total: number;
  /** The digest the content must have at commit, when known. */
  expected?: Digest;
  startedAt: Date;
  updatedAt: Date;
}

/** What `readerAt` needs of a descriptor: the digest (a size, when given, is not trusted). */
export type ContentBlobRef = Pick<Descriptor, 'digest'> & Partial<Pick<Descriptor, 'size'>>;

/** Options of `ContentReaderAt.createReadStream`. */
export interface ContentReadStreamOptions {
  /** First byte (default 0); past the end of the blob is `OutOfRange`. */
  start?: number;
  /** Last byte, inclusive (default: the last byte). */
  end?: number;
  /** Bytes per chunk, and per `Read` call on the wire (default 256 KiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** A readable stream of blob bytes; `bytesRead` counts the bytes received from berthd so far. */
export interface ContentReadStream extends Readable {
  readonly bytesRead: number;
}

/** Random access to one committed blob (@berth/content `ReaderAt`). */
export interface ContentReaderAt {
  readonly size: number;
  readAt(buffer: Uint8Array, position: number): Promise<number>;
  read(position: number, length?: number): Promise<Buffer>;
  createReadStream(options?: ContentReadStreamOptions): ContentReadStream;
  close(): Promise<void>;
}

/** Options of `ContentClient.writer` (@berth/content `WriterOptions`). */
export interface ContentWriterOptions {
  ref: string;
  total?: number;
  expected?: Digest | string;
  signal?: AbortSignal;
}

/** Options of `ContentWriter.commit` (@berth/content `CommitOptions`). */
export interface ContentCommitOptions {
  size?: number;
  expected?: Digest | string;
  labels?: Record<string, string>;
}

/** Writes one ingest (@berth/content `Writer`). */
export interface ContentWriter {
  readonly ref: string;
  write(chunk: Uint8Array): Promise<void>;
  digest(): Digest;
  status(): Promise<ContentStatus>;
  truncate(size: number): Promise<void>;
  commit(options?: ContentCommitOptions): Promise<Digest>;
  close(): Promise<void>;
}

/** Callback of `ContentClient.walk`; awaited before the next blob. */
export type ContentWalkFunc = (info: ContentInfo) => void | Promise<void>;
