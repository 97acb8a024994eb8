import type { Provider } from '@berth/content';
import { dataLoss, withContext } from '@berth/errdefs';
import { Label, MediaType, parseDigest, type Descriptor } from '@berth/spec';
import type { Mount } from '@berth/snapshots';
import { decompress, layerCompression, measure } from './decompress';
import { Extractor } from './extract';
import { mountTarget, withDirectory } from './mounts';
import { readTar } from './tar-reader';
import type { Applier, ApplyOptions } from './types';

/** Options of `createApplier`. */
export interface ApplierOptions {
  /** Where layer blobs are read from. */
  content: Provider;
}

/** Bytes per read from the content store. */
const readChunk = 1 << 20;

/**
 * An `Applier` over a content store: blob → decompress (gzip, zstd, none) → sha256 of the tar
 * (the diffID) → extract, in one streaming pass (see `Applier` for the contract).
 *
 * Mounts: an overlay mount with `upperdir=` is written in its upper directory directly (overlay
 * whiteouts); a bind mount in its source directory; anything else is mounted temporarily with
 * `@berth/snapshots`' `withMounts`.
 *
 * Errors: the media type of a known non-layer is InvalidArgument, an unknown one NotImplemented;
 * hostile entries and corrupt or truncated streams are InvalidArgument; a diffID that differs
 * from the descriptor's `containerd.io/uncompressed` annotation is DataLoss (the blob verified
 * against its own digest, but is not the layer the image says it is: the data the caller asked
 * for is not there. containerd reports this as a failed precondition of the unpack; DataLoss
 * keeps it apart from a caller's mistake). An aborted signal is Canceled.
 */
export function createApplier(options: ApplierOptions): Applier {
  return {
    async apply(desc: Descriptor, mounts: Mount[], opts: ApplyOptions = {}): Promise<Descriptor> {
      const compression = layerCompression(desc.mediaType);
      const expected = desc.annotations?.[Label.Uncompressed];
      if (expected !== undefined) parseDigest(expected);
      const target = mountTarget(mounts, `apply ${desc.digest}`);
      const run = (root: string, lowers: string[]) => extractLayer(options.content, desc, compression, root, lowers, opts.signal);
      const applied =
        target.kind === 'overlay' ? await run(target.upper, target.lowers) : await withDirectory(target, (dir) => run(dir, []));
      if (expected !== undefined && applied.digest !== expected) {
        throw dataLoss(`layer ${desc.digest}: uncompressed digest ${applied.digest}, expected ${expected}`);
      }
      return applied;
    },
  };
}

async function extractLayer(
  content: Provider,
  desc: Descriptor,
  compression: ReturnType<typeof layerCompression>,
  root: string,
  lowers: string[],
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  signal?.throwIfAborted();
  const reader = await content.readerAt(desc);
  try {
    const tar = measure(decompress(reader.createReadStream({ chunkSize: readChunk, signal }), compression));
    const extractor = new Extractor(root, lowers);
    try {
      await readTar(tar, async (entry) => {
        signal?.throwIfAborted();
        await extractor.entry(entry);
      });
    } catch (err) {
      throw withContext(err, `apply layer ${desc.digest}`);
    }
    extractor.finish();
    return { mediaType: MediaType.OciLayer, digest: tar.digest(), size: tar.size };
  } finally {
    await reader.close();
  }
}
