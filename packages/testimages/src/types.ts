import type { Descriptor, Digest } from '@berth/spec';

/** The test images this package can build. */
export type ImageName = 'busybox' | 'layers' | 'large';

/** The archive layouts this package can write. */
export type ArchiveFormat = 'oci' | 'docker';

/**
 * The bytes of a regular file in a layer, produced on demand so that a large file never has to
 * sit in memory whole. `chunks()` may be called any number of times and yields the same `size`
 * bytes every time.
 */
export interface Content {
  readonly size: number;
  chunks(): AsyncIterable<Uint8Array>;
}

/** The kinds of tar entry the test layers use. A `hardlink` names an earlier entry of the same layer. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

/**
 * One tar entry of a layer. Whiteouts are ordinary empty files named `.wh.<name>` or
 * `.wh..wh..opq`, exactly as they appear in a layer tar.
 */
export interface LayerEntry {
  /** Relative to the layer root, `/`-separated, no leading `./` or `/`, no trailing `/`. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid (04000), setgid (02000) and sticky (01000); no file type bits. */
  mode: number;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
  /** Whole seconds since the Unix epoch, at most 2^31-1; default `FIXED_MTIME`. */
  mtime?: number;
  /** Required for files, forbidden otherwise. */
  content?: Content;
  /** Symlink target as stored, or the layer-relative path of a hard link's target. */
  linkname?: string;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  xattrs?: Record<string, string>;
}

/** One layer of a test image: what it is for, how it is compressed, and its entries. */
export interface LayerDefinition {
  /** Recorded as the layer's `history[].created_by`. */
  createdBy: string;
  compression: 'gzip' | 'none';
  entries: readonly LayerEntry[];
}

/** The `config` member of an OCI image config (the runtime defaults). */
export interface ContainerConfig {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
}

/**
 * Everything needed to build one test image. `cacheInputs` names whatever outside the builder
 * determines the image's bytes (the busybox binary's digest), so caches can key on it.
 */
export interface ImageDefinition {
  name: ImageName;
  architecture: string;
  os: 'linux';
  config: ContainerConfig;
  layers: readonly LayerDefinition[];
  cacheInputs: string;
}

/**
 * What `buildImage` wrote. `manifest` is the manifest the archive's image is described by: for
 * oci the manifest blob in the archive; for docker (which stores no manifest) the Docker schema 2
 * manifest over the archive's config and uncompressed `layer.tar`s, byte for byte as containerd's importer
 * (and berth's) reconstructs it.
 * `layers` are the layer blobs as stored in the archive, in order; `diffIds` their uncompressed digests.
 */
export interface BuiltImage {
  path: string;
  format: ArchiveFormat;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  diffIds: Digest[];
  /** oci only: the digest of `index.json`. */
  index?: Digest;
}
