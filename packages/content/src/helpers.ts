import { isAlreadyExists, isNotFound } from '@berth/errdefs';
import { digestOf, type Digest } from '@berth/spec';
import type { BlobRef, InfoProvider, Ingester, Provider, Writer } from './types';

/** What `writeBlob` accepts as content. */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array | string> | NodeJS.ReadableStream;

/** Options of `writeBlob`. */
export interface WriteBlobOptions {
  /** Labels of the committed blob. */
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

const sliceSize = 1 << 20;

/**
 * Writes `source` as one blob through an ingest named `ref` and commits it, verifying
 * `expected.size` and `expected.digest` when given. Resolves with the blob's digest.
 *
 * `AlreadyExists` (at open or at commit) counts as success. An existing ingest of `ref` is
 * resumed when the source can be skipped forward: a `Uint8Array` whose prefix matches what the
 * ingest holds continues at the ingest's offset; otherwise (a stream, or a different prefix)
 * the ingest restarts from 0. `Unavailable` (another writer holds `ref`) is passed on: retry.
 */
export async function writeBlob(
  ingester: Ingester,
  ref: string,
  source: BlobSource,
  expected: { digest?: Digest | string; size?: number } = {},
  options: WriteBlobOptions = {},
): Promise<Digest> {
  let writer: Writer;
  try {
    writer = await ingester.writer({
      ref,
      ...(expected.size !== undefined ? { total: expected.size } : {}),
      ...(expected.digest ? { expected: expected.digest } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (isAlreadyExists(err) && expected.digest) return expected.digest as Digest;
    throw err;
  }
  let computed: Digest | undefined;
  try {
    const { offset } = await writer.status();
    if (source instanceof Uint8Array) {
      let start = 0;
      if (offset > 0 && offset <= source.byteLength && digestOf(source.subarray(0, offset)) === writer.digest()) start = offset;
      else if (offset > 0) await writer.truncate(0);
      for (let i = start; i < source.byteLength; i += sliceSize) {
        await writer.write(source.subarray(i, Math.min(i + sliceSize, source.byteLength)));
      }
    } else {
      if (offset > 0) await writer.truncate(0);
      for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
        options.signal?.throwIfAborted();
        await writer.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      }
    }
    if (!expected.digest) computed = writer.digest();
  } catch (err) {
    await writer.close().catch(() => {});
    throw err;
  }
  try {
    return await writer.commit({
      ...(expected.size !== undefined ? { size: expected.size } : {}),
      ...(expected.digest ? { expected: expected.digest } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
    });
  } catch (err) {
    if (isAlreadyExists(err)) return (expected.digest as Digest | undefined) ?? computed!;
    throw err;
  }
}

/** Reads a whole blob into memory. `NotFound` if it is not committed. */
export async function readBlob(provider: Provider, desc: BlobRef): Promise<Buffer> {
  const reader = await provider.readerAt(desc);
  try {
    return await reader.read(0);
  } finally {
    await reader.close();
  }
}

/** Whether the blob is committed. Errors other than NotFound (e.g. InvalidArgument) are thrown. */
export async function exists(info: InfoProvider, digest: Digest | string | BlobRef): Promise<boolean> {
  try {
    await info.info(typeof digest === 'string' ? digest : digest.digest);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
