import type { Readable } from 'node:stream';
import { invalidArgument } from '@berth/errdefs';
import { isIndexMediaType, isManifestMediaType, parseIndex, parseManifest, type Descriptor } from '@berth/spec';
import type { PushOptions, PushResult, Pusher } from './types';

/** Reads a stream to its end into one buffer; more than `limit` bytes is InvalidArgument. */
export async function readStream(stream: AsyncIterable<Uint8Array>, limit = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.length;
    if (n > limit) {
      (stream as Partial<Readable>).destroy?.();
      throw invalidArgument(`stream longer than ${limit} bytes`);
    }
    chunks.push(Buffer.from(c.buffer, c.byteOffset, c.length));
  }
  return Buffer.concat(chunks);
}

/** Where `pushTree` reads content from: a fresh stream of a descriptor's bytes per call. */
export type ContentSource = (desc: Descriptor) => Readable | Promise<Readable>;

/** Options of `pushTree`. */
export interface PushTreeOptions extends PushOptions {
  /** Tag the root with this once everything is pushed. */
  tag?: string;
  /** Blobs uploaded at once. Default 3. */
  concurrency?: number;
}

/**
 * Pushes an image in the order a registry accepts it: for a manifest its config and layers,
 * then the manifest; for an index every child tree, then the index; then the tag, if any.
 * Returns what happened to each digest. `source` is asked for each descriptor's bytes (again
 * on a retry); everything sent is checked against its descriptor.
 */
export async function pushTree(
  pusher: Pusher,
  root: Descriptor,
  source: ContentSource,
  opts: PushTreeOptions = {},
): Promise<Map<string, PushResult>> {
  const results = new Map<string, PushResult>();
  const { tag, concurrency = 3, ...pushOpts } = opts;
  const blobs = async (descs: Descriptor[]): Promise<void> => {
    const queue = [...descs];
    const worker = async (): Promise<void> => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        if (!results.has(d.digest)) results.set(d.digest, await pusher.push(d, () => source(d), pushOpts));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  };
  const walk = async (desc: Descriptor): Promise<Buffer | undefined> => {
    if (isIndexMediaType(desc.mediaType)) {
      const bytes = await readStream(await source(desc), desc.size);
      const index = parseIndex(bytes, desc.mediaType);
      for (const child of index.manifests) {
        if (isIndexMediaType(child.mediaType) || isManifestMediaType(child.mediaType)) await walk(child);
        else await blobs([child]);
      }
      results.set(desc.digest, await pusher.push(desc, bytes, pushOpts));
      return bytes;
    }
    if (isManifestMediaType(desc.mediaType)) {
      const bytes = await readStream(await source(desc), desc.size);
      const manifest = parseManifest(bytes, desc.mediaType);
      await blobs([manifest.config, ...manifest.layers]);
      results.set(desc.digest, await pusher.push(desc, bytes, pushOpts));
      return bytes;
    }
    await blobs([desc]);
    return undefined;
  };
  const bytes = await walk(root);
  if (tag !== undefined) await pusher.tag(tag, root, bytes, pushOpts.signal ? { signal: pushOpts.signal } : {});
  return results;
}
