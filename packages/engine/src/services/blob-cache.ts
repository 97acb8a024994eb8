import type { Digest } from '@berth/spec';

/** Blobs up to this size are kept in memory once read (manifests, indexes, configs). */
export const SMALL_BLOB_BYTES = 256 << 10;
/** Memory for small blobs, at most. */
const SMALL_BLOBS_TOTAL = 8 << 20;
/** Sizes remembered, at most. */
const MAX_SIZES = 65_536;

/**
 * What the engine remembers about blobs by digest: their sizes, and the bytes of small ones.
 * Content is addressed by digest, so neither can go stale: a digest's bytes and size never
 * change, and a blob deleted and written again comes back the same. Whether a namespace may see
 * a blob is not cached here (the metadata store answers that on every call); a cached blob
 * that was deleted meanwhile is still answered from memory, as an open reader would be.
 * Bounded: the oldest entries go first.
 */
export class BlobCache {
  readonly #sizes = new Map<Digest, number>();
  readonly #small = new Map<Digest, Buffer>();
  #smallBytes = 0;

  size(digest: Digest): number | undefined {
    return this.#sizes.get(digest);
  }

  setSize(digest: Digest, size: number): void {
    if (this.#sizes.has(digest)) return;
    if (this.#sizes.size >= MAX_SIZES) this.#sizes.delete(this.#sizes.keys().next().value!);
    this.#sizes.set(digest, size);
  }

  /** The bytes of a small blob read before (most recently used last). */
  bytes(digest: Digest): Buffer | undefined {
    const b = this.#small.get(digest);
    if (b) {
      this.#small.delete(digest);
      this.#small.set(digest, b);
    }
    return b;
  }

  /** Keeps `bytes` (the whole blob) if it is small; they must not be changed afterwards. */
  setBytes(digest: Digest, bytes: Buffer): void {
    if (bytes.byteLength > SMALL_BLOB_BYTES || this.#small.has(digest)) return;
    this.setSize(digest, bytes.byteLength);
    this.#small.set(digest, bytes);
    this.#smallBytes += bytes.byteLength;
    for (const [d, b] of this.#small) {
      if (this.#smallBytes <= SMALL_BLOBS_TOTAL) break;
      this.#small.delete(d);
      this.#smallBytes -= b.byteLength;
    }
  }
}
