import { randomBytes } from 'node:crypto';
import { createGzip } from 'node:zlib';
import type { Ingester } from '@berth/content';
import { invalidArgument, isAlreadyExists, notImplemented } from '@berth/errdefs';
import { Label, MediaType, compressionOf, type Descriptor } from '@berth/spec';
import type { Mount } from '@berth/snapshots';
import { doubleWalkChanges, fileBody, overlayUpperChanges, type Change } from './changes';
import { measure } from './decompress';
import { through } from './through';
import { mountTarget, withDirectory } from './mounts';
import { encodeHeader, endOfArchive, padding } from './tar-writer';
import type { Comparer, CompareOptions } from './types';

/** Options of `createComparer`. */
export interface ComparerOptions {
  /** Where the layer blob is written. */
  content: Ingester;
}

/**
 * A `Comparer` writing layers into a content store (see `Comparer` for the contract).
 *
 * - An `upper` that is an overlay mount with `upperdir=` is read from its upper directory alone
 *   (the lowers are assumed to be `lower`, as with a snapshotter's active snapshot over its
 *   parent); otherwise both sides are walked (`lower` may be `[]`: everything is added), mounting
 *   them temporarily when they are not bind mounts.
 * - Media types: `…tar+gzip` (default, also Docker's gzip type) and `…tar`; zstd is
 *   NotImplemented (no zstd encoder here); a non-layer type is InvalidArgument.
 * - The blob is labelled `containerd.io/uncompressed=<diffID>` plus `opts.labels`. A blob that
 *   is already in the store is not an error: its descriptor is returned.
 * - Output is deterministic for the same trees (see changes.ts and tar-writer.ts).
 */
export function createComparer(options: ComparerOptions): Comparer {
  return {
    async compare(lower: Mount[], upper: Mount[], opts: CompareOptions = {}): Promise<Descriptor> {
      const mediaType = opts.mediaType ?? MediaType.OciLayerGzip;
      const compression = compressionOf(mediaType);
      if (compression === undefined) throw invalidArgument(`compare: media type ${mediaType}: not a layer`);
      if (compression === 'zstd') throw notImplemented(`compare: media type ${mediaType}: zstd compression is not supported`);
      const write = (changes: Iterable<Change>) => writeLayer(options.content, changes, mediaType, compression === 'gzip', opts);
      const upperTarget = mountTarget(upper, 'compare upper');
      if (upperTarget.kind === 'overlay') return write(overlayUpperChanges(upperTarget.upper));
      return withDirectory(upperTarget, async (upperDir) => {
        if (lower.length === 0) return write(doubleWalkChanges(undefined, upperDir));
        return withDirectory(mountTarget(lower, 'compare lower'), (lowerDir) => write(doubleWalkChanges(lowerDir, upperDir)));
      });
    },
  };
}

async function writeLayer(content: Ingester, changes: Iterable<Change>, mediaType: string, gzip: boolean, opts: CompareOptions): Promise<Descriptor> {
  const tar = measure(tarStream(changes, opts.signal));
  const ref = opts.ref ?? `diff-${Date.now()}-${randomBytes(6).toString('hex')}`;
  const writer = await content.writer({ ref, ...(opts.signal && { signal: opts.signal }) });
  let size = 0;
  try {
    const bytes = gzip ? through(tar, createGzip({ chunkSize: 256 * 1024 })) : tar;
    for await (const chunk of bytes) {
      size += chunk.byteLength;
      await writer.write(chunk);
    }
  } catch (err) {
    await writer.close();
    throw err;
  }
  const labels = { ...opts.labels, [Label.Uncompressed]: tar.digest() };
  const digest = writer.digest();
  try {
    await writer.commit({ size, labels });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  return { mediaType, digest, size };
}

async function* tarStream(changes: Iterable<Change>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for (const { entry, source } of changes) {
    signal?.throwIfAborted();
    yield encodeHeader(entry);
    if (source && entry.size > 0) {
      yield* fileBody(source, entry.size);
      yield padding(entry.size);
    }
  }
  yield endOfArchive;
}

