import { setTimeout as sleep } from 'node:timers/promises';
import type { Writer } from '@berth/content';
import { dataLoss, isAlreadyExists, isDataLoss, isFailedPrecondition, isUnavailable } from '@berth/errdefs';
import type { Fetcher } from '@berth/registry';
import type { Descriptor } from '@berth/spec';
import type { NamespacedContentStore } from '../services/content-namespaced';

/** What `fetchBlob` did: the blob was already in the namespace's content, or it was downloaded (`resumedAt` > 0 after a Range resume). */
export type FetchOutcome = { outcome: 'exists' } | { outcome: 'fetched'; resumedAt: number };

/** Options of `fetchBlob`. */
export interface FetchBlobOptions {
  content: NamespacedContentStore;
  fetcher: Fetcher;
  desc: Descriptor;
  /** The ingest ref; the same ref resumes what an earlier, interrupted fetch left. */
  ref: string;
  /** Labels of the blob when this call commits it (a blob already there keeps its own). */
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /** Bytes held so far (called as data arrives, at most every `progressInterval` ms, and once at the end). */
  onProgress?: (offset: number) => void;
  progressInterval?: number;
}

/** How long to wait between attempts to open a ref another writer holds (a concurrent pull of the same blob). */
const BUSY_RETRY_MS = 50;

/**
 * Downloads `desc` from `fetcher` straight into the namespace's content store, through the
 * ingest `ref`, and commits it with `labels`. Resumable: an ingest that an interrupted fetch left
 * under `ref` is continued with a Range request from its offset (the content store checks the
 * whole digest at commit; a resumed ingest whose bytes turn out wrong is restarted once from 0).
 *
 * - Already committed (in this namespace or, shared, in another): `exists`, nothing fetched.
 * - Another writer holds `ref` (the same blob pulled concurrently): waits for it, then finds the
 *   blob committed or resumes its ingest.
 * - Wrong bytes from the registry: DataLoss, and the ingest is aborted, so nothing of it stays.
 * - Any other failure (network after the registry client's retries, cancellation): the error,
 *   and the ingest stays for the next attempt to resume.
 */
export async function fetchBlob(opts: FetchBlobOptions): Promise<FetchOutcome> {
  const { content, desc, ref, signal } = opts;
  for (let restarted = false; ; restarted = true) {
    const writer = await openWriter(opts);
    if (!writer) return { outcome: 'exists' };
    let offset = 0;
    try {
      offset = (await writer.status()).offset;
      if (offset > desc.size || restarted) {
        await writer.truncate(0);
        offset = 0;
      }
      if (offset < desc.size) await copy(opts, writer, offset);
    } catch (err) {
      await writer.close().catch(() => {});
      if (isDataLoss(err)) await content.abort(ref).catch(() => {});
      throw err;
    }
    try {
      await writer.commit({ size: desc.size, expected: desc.digest, ...(opts.labels ? { labels: opts.labels } : {}) });
      return { outcome: 'fetched', resumedAt: offset };
    } catch (err) {
      if (isAlreadyExists(err)) return { outcome: 'exists' };
      if (!isFailedPrecondition(err)) throw err;
      // The bytes on disk do not hash to the digest. Those from an earlier attempt may be bad
      // (a different registry, a torn write): start over once. Fresh bytes were verified by
      // the fetcher already, so this is not reached for them unless the disk lies.
      if (offset === 0 || restarted) {
        await content.abort(ref).catch(() => {});
        throw dataLoss(`blob ${desc.digest}: content does not match its digest`, { cause: err });
      }
      signal?.throwIfAborted();
    }
  }
}

async function openWriter(opts: FetchBlobOptions): Promise<Writer | undefined> {
  for (;;) {
    try {
      return await opts.content.writer({ ref: opts.ref, total: opts.desc.size, expected: opts.desc.digest, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      if (isAlreadyExists(err)) return undefined;
      if (!isUnavailable(err)) throw err;
      await sleep(BUSY_RETRY_MS, undefined, opts.signal ? { signal: opts.signal } : {});
    }
  }
}

async function copy(opts: FetchBlobOptions, writer: Writer, offset: number): Promise<void> {
  const stream = await opts.fetcher.fetch(opts.desc, { offset, ...(opts.signal ? { signal: opts.signal } : {}) });
  const interval = opts.progressInterval ?? 100;
  let held = offset;
  let reported = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      await writer.write(chunk);
      held += chunk.byteLength;
      const now = Date.now();
      if (opts.onProgress && now - reported >= interval) {
        reported = now;
        opts.onProgress(held);
      }
    }
  } finally {
    stream.destroy();
  }
  opts.onProgress?.(held);
}
