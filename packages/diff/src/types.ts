import type { Descriptor } from '@berth/spec';
import type { Mount } from '@berth/snapshots';

/** Options for `Applier.apply`. */
export interface ApplyOptions {
  signal?: AbortSignal;
}

/**
 * Applies a layer onto mounts. `desc` is the layer blob in the content store (any layer media
 * type: uncompressed, gzip, zstd). The blob is streamed, decompressed and extracted in one
 * pass with OCI whiteout semantics; the uncompressed digest (the diffID) is computed on the
 * way and checked against `containerd.io/uncompressed` when the descriptor carries it in its
 * annotations.
 *
 * Contract:
 * - returns the *applied* descriptor: media type `application/vnd.oci.image.layer.v1.tar`,
 *   digest = diffID, size = uncompressed bytes;
 * - nothing outside the mounted root is ever created, changed or removed. A layer that tries
 *   (`..`, absolute paths, writes through a symlink that leaves the root, a hard link to a
 *   path outside) is refused with InvalidArgument; a truncated or malformed stream is
 *   InvalidArgument or DataLoss, never a hang. On error, what was applied so far is left for
 *   the caller to discard (it removes the active snapshot);
 * - on an overlay mount with an upper directory, the layer is extracted straight into the
 *   upper directory with whiteouts converted to overlay whiteouts (char device 0/0, xattr
 *   `trusted.overlay.opaque=y`), without mounting.
 */
export interface Applier {
  apply(desc: Descriptor, mounts: Mount[], opts?: ApplyOptions): Promise<Descriptor>;
}

/** Options for `Comparer.compare`. */
export interface CompareOptions {
  /** Media type of the layer to write; default `application/vnd.oci.image.layer.v1.tar+gzip`. */
  mediaType?: string;
  /** Ingest ref for the content store; default derived from a random id. */
  ref?: string;
  /** Labels for the written blob; `containerd.io/uncompressed` is always set. */
  labels?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Computes the difference between two filesystems as an OCI layer and writes it into the
 * content store, returning its descriptor. `lower` may be empty (the whole of `upper` is the
 * layer). Deletions become `.wh.<name>` entries, a directory whose lower contents were all
 * replaced becomes opaque. On overlay, the upper directory is read instead of walking both trees.
 */
export interface Comparer {
  compare(lower: Mount[], upper: Mount[], opts?: CompareOptions): Promise<Descriptor>;
}
