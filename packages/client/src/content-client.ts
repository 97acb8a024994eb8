import { contentService } from '@berth/api';
import { dataLoss } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import type { CallOptions, Connection } from './connection';
import { RemoteReaderAt } from './content-reader';
import type {
  ContentBlobRef,
  ContentInfo,
  ContentReaderAt,
  ContentStatus,
  ContentStore,
  ContentWalkFunc,
  ContentWriter,
  ContentWriterOptions,
} from './content-types';
import { RemoteWriter } from './content-writer';
import { dateOf } from './wire';

const Content = contentService.Content.methods;

/**
 * berthd's (or containerd's) content store over gRPC (`containerd.services.content.v1.Content`),
 * with the shape of `@berth/content`'s `ContentStore`: anything written for a ContentStore (the
 * helpers `writeBlob`/`readBlob`/`exists`, an image unpacker) works through it, in the
 * connection's namespace and, when the connection has one, under its lease.
 *
 * The contracts are ContentStore's, with the error kinds berthd sends (NotFound, AlreadyExists,
 * Unavailable, FailedPrecondition, InvalidArgument, OutOfRange). Where the wire differs:
 * - a reader holds nothing on the server (see `RemoteReaderAt`);
 * - a writer can truncate only to 0 (see `RemoteWriter`);
 * - a cancelled call rejects with `Canceled`, and `Unavailable` also means berthd is down.
 *
 * Methods without rest parameters take `CallOptions` last (a `signal` to cancel, or another
 * namespace or lease for that call).
 */
export class ContentClient implements ContentStore {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The blob's Info; NotFound when the namespace has no such blob, InvalidArgument for a malformed digest. */
  async info(digest: Digest | string, opts?: CallOptions): Promise<ContentInfo> {
    const res = await this.#conn.unary(Content.info, { digest }, opts);
    return infoOf(res.info);
  }

  /**
   * Updates labels: `fieldpaths` `labels` (replace all) or `labels.<key>` (set one; empty or
   * absent deletes it); none replaces all labels. Anything else is InvalidArgument.
   */
  async update(info: Pick<ContentInfo, 'digest'> & Partial<Pick<ContentInfo, 'labels'>>, fieldpaths?: string[], opts?: CallOptions): Promise<ContentInfo> {
    const res = await this.#conn.unary(
      Content.update,
      {
        info: { digest: info.digest, labels: info.labels ?? {} },
        ...(fieldpaths && fieldpaths.length > 0 ? { updateMask: { paths: fieldpaths } } : {}),
      },
      opts,
    );
    return infoOf(res.info);
  }

  /**
   * Calls `fn` for every blob matching any of the containerd filters (`digest`, `size`,
   * `labels.<key>`; none or `''` matches all), awaiting it before the next. The List stream is
   * read only as fast as `fn` returns; a throwing `fn` cancels it.
   */
  async walk(fn: ContentWalkFunc, ...filters: string[]): Promise<void> {
    for await (const res of this.#conn.serverStream(Content.list, { filters })) {
      for (const info of res.info) await fn(infoOf(info));
    }
  }

  /** Deletes the namespace's blob; NotFound if it has none. */
  async delete(digest: Digest | string, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Content.delete, { digest }, opts);
  }

  /** Opens a blob for reading (one Info call for its size); NotFound when not committed. */
  async readerAt(desc: ContentBlobRef, opts?: CallOptions): Promise<ContentReaderAt> {
    const info = await this.info(desc.digest, opts);
    return new RemoteReaderAt(this.#conn, info.digest, info.size, opts);
  }

  /**
   * A whole blob in one `Content.Read` (offset 0, size 0: to the end), without the Info call a
   * reader makes first: for small blobs such as manifests and configs. NotFound when not
   * committed; DataLoss when `desc` has a size and the blob has another.
   */
  async readBlob(desc: ContentBlobRef & { size?: number }, opts?: CallOptions): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for await (const res of this.#conn.serverStream(Content.read, { digest: desc.digest, offset: 0, size: 0 }, opts)) parts.push(res.data);
    const blob = Buffer.concat(parts);
    if (desc.size !== undefined && blob.length !== desc.size) throw dataLoss(`content ${desc.digest}: ${blob.length} bytes, expected ${desc.size}`);
    return blob;
  }

  /**
   * Opens a writer on `ref` over one `Content.Write` stream, resuming an existing ingest at its
   * offset. AlreadyExists if `expected` is committed; Unavailable if another writer (in any
   * process) holds the ref; FailedPrecondition if `total` differs from the resumed ingest's.
   */
  writer(options: ContentWriterOptions): Promise<ContentWriter> {
    return RemoteWriter.open(this.#conn, options);
  }

  /** The ingest's status; NotFound if there is none. */
  async status(ref: string, opts?: CallOptions): Promise<ContentStatus> {
    const res = await this.#conn.unary(Content.status, { ref }, opts);
    return statusOf(res.status);
  }

  /** The statuses of the ingests matching any of the filters (`ref`, `expected`; none or `''` matches all). */
  async listStatuses(...filters: string[]): Promise<ContentStatus[]> {
    const res = await this.#conn.unary(Content.listStatuses, { filters });
    return res.statuses.map(statusOf);
  }

  /** Removes an ingest; NotFound if there is none, Unavailable while a writer holds it. */
  async abort(ref: string, opts?: CallOptions): Promise<void> {
    await this.#conn.unary(Content.abort, { ref }, opts);
  }
}

function infoOf(info: contentService.Info | undefined): ContentInfo {
  return {
    digest: (info?.digest ?? '') as Digest,
    size: info?.size ?? 0,
    createdAt: dateOf(info?.createdAt),
    updatedAt: dateOf(info?.updatedAt),
    labels: { ...info?.labels },
  };
}

function statusOf(status: contentService.Status | undefined): ContentStatus {
  return {
    ref: status?.ref ?? '',
    offset: status?.offset ?? 0,
    total: status?.total ?? 0,
    ...(status?.expected ? { expected: status.expected as Digest } : {}),
    startedAt: dateOf(status?.startedAt),
    updatedAt: dateOf(status?.updatedAt),
  };
}
