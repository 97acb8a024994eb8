import type { Readable } from 'node:stream';
import { writeBlob, type ContentStore } from '@berth/content';
import { invalidArgument, isNotFound, isUnavailable } from '@berth/errdefs';
import {
  MediaType,
  defaultPlatform,
  digestOf,
  onlyPlatform,
  parseDigest,
  parseIndex,
  type Descriptor,
  type Digest,
  type PlatformMatcher,
} from '@berth/spec';
import { archiveError, readArchive, readEntry, type ArchiveEntry } from './archive-reader';
import { parseDockerManifestJson, writeDockerIndex, type ArchiveFiles, type DockerManifestEntry } from './docker-archive';
import { setChildrenLabels } from './gc-labels';
import { validateImage } from './image-store';
import { allPlatforms } from './manifest';
import { defaultImportPrefix, imageNameOf, refTranslator } from './names';
import { maxDocumentSize, readDocument } from './read-document';
import type { Image, ImageStore } from './types';
import { childrenHandler, filterPlatforms, walk, type Handler } from './walk';

/** Options of `importArchive`, after `ctr images import`. */
export interface ImportOptions {
  /**
   * ctr's `--base-name`. When set, a tag-only `org.opencontainers.image.ref.name` becomes
   * `<prefix>:<tag>` and full ref names not under the prefix name no image. When unset, tag-only
   * names get `import-YYYY-MM-DD` and full ref names are kept.
   */
  prefix?: string;
  /** ctr's `--index-name`: also record the archive's whole index under this name. */
  indexName?: string;
  /** ctr's `--digests`: also record each manifest as `<prefix>@<digest>`. */
  digests?: boolean;
  /**
   * Which manifests of an index are checked for completeness and labelled for GC (default
   * `onlyPlatform(defaultPlatform())`). Images are recorded for every named entry regardless.
   */
  platform?: PlatformMatcher;
  /** Check and label every platform (overrides `platform`). */
  allPlatforms?: boolean;
  signal?: AbortSignal;
}

/** What `importArchive` did. */
export interface ImportResult {
  /** The root of the import: `index.json` of an OCI layout, or the index made for a docker-archive. */
  index: Descriptor;
  /** The image records created or updated, in index order. */
  images: Image[];
}

const layoutVersion = '1.0.0';
const blobPath = /^blobs\/([^/]+)\/([^/]+)$/;

interface Collected extends ArchiveFiles {
  layout?: string;
  index?: Descriptor;
  docker?: DockerManifestEntry[];
}

// Two imports of the same archive at once contend for the same ingest refs: wait for the other.
async function writeRetrying(content: ContentStore, ref: string, entry: ArchiveEntry, expected: { digest?: Digest; size: number }): Promise<Digest> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await writeBlob(content, ref, entry.stream, expected);
    } catch (err) {
      if (!isUnavailable(err) || attempt >= 50 || entry.stream.readableDidRead) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 + attempt * 10));
    }
  }
}

async function collect(content: ContentStore, source: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Collected> {
  const out: Collected = { blobs: new Map(), symlinks: new Map() };
  try {
    await collectEntries(content, readArchive(source, signal), out);
  } catch (err) {
    throw archiveError(err);
  }
  return out;
}

async function collectEntries(content: ContentStore, entries: AsyncIterable<ArchiveEntry>, out: Collected): Promise<void> {
  for await (const entry of entries) {
    if (entry.type === 'symlink') out.symlinks.set(entry.path, entry.target!);
    if (entry.type !== 'file') continue;
    if (entry.path === 'oci-layout') {
      out.layout = parseLayout(await readEntry(entry, 1 << 20));
    } else if (entry.path === 'manifest.json') {
      out.docker = parseDockerManifestJson(await readEntry(entry, maxDocumentSize));
    } else if (entry.path === 'index.json') {
      const data = await readEntry(entry, maxDocumentSize);
      parseIndex(data);
      out.index = { mediaType: MediaType.OciIndex, digest: digestOf(data), size: data.length };
      await writeBlob(content, `tar-${entry.path}`, data, out.index);
    } else {
      const m = blobPath.exec(entry.path);
      let expected: Digest | undefined;
      if (m) {
        try {
          expected = parseDigest(`${m[1]}:${m[2]}`);
        } catch (err) {
          throw invalidArgument(`archive entry ${entry.path}: ${(err as Error).message}`, { cause: err });
        }
      }
      const digest = await writeRetrying(content, `tar-${entry.path}`, entry, { ...(expected ? { digest: expected } : {}), size: entry.size });
      out.blobs.set(entry.path, { digest, size: entry.size });
    }
  }
}

function parseLayout(data: Buffer): string {
  try {
    const version = (JSON.parse(data.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    if (typeof version === 'string' && version !== '') return version;
  } catch (err) {
    throw invalidArgument(`oci-layout: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
  throw invalidArgument('oci-layout: imageLayoutVersion must be a non-empty string');
}

/** Every descriptor the walk reaches must be in the store with its size: the archive is complete. */
function requirePresent(content: ContentStore): Handler {
  return async (desc) => {
    try {
      const info = await content.info(desc.digest);
      if (info.size !== desc.size) throw invalidArgument(`archive: blob ${desc.digest} has ${info.size} bytes, its descriptor says ${desc.size}`);
    } catch (err) {
      if (isNotFound(err)) throw invalidArgument(`archive: ${desc.mediaType} ${desc.digest} is referenced but not in the archive`, { cause: err });
      throw err;
    }
  };
}

/**
 * Imports an image archive, streamed: an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`) or a docker-archive (`manifest.json`, configs, `layer.tar`s; see
 * `writeDockerIndex`). Each file goes straight into the content store as it streams by: OCI
 * blobs with the digest their path names (the store verifies it; a mismatch is the store's
 * `FailedPrecondition`), other files under their computed digest, mapped to paths at the end,
 * so their order in the archive does not matter. Nothing is spooled to disk.
 *
 * Then the graph from the root index is walked for the chosen platforms: every blob it reaches
 * must be present, and each index and manifest gets its `containerd.io/gc.ref.content.*`
 * labels. Only after that are image records written: `update(image, ['target'])`, then
 * `create` on NotFound, one per named index entry (see `ImportOptions` for the naming).
 *
 * Errors: InvalidArgument for a truncated or malformed tar, a path with `..` or an absolute
 * one, an unknown layout version, a missing `index.json`/`manifest.json`, malformed documents,
 * blobs referenced but absent; the content store's kinds for its own failures. On any error no
 * image record is created or changed; blobs already written stay, unreferenced, for GC.
 */
export async function importArchive(
  content: ContentStore,
  images: ImageStore,
  source: Readable | AsyncIterable<Uint8Array>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const files = await collect(content, source, options.signal);
  let root: Descriptor;
  if (files.layout !== undefined) {
    if (files.layout !== layoutVersion) throw invalidArgument(`oci-layout: unsupported version ${JSON.stringify(files.layout)}`);
    if (!files.index) throw invalidArgument(`archive: OCI layout ${layoutVersion} without index.json`);
    root = files.index;
  } else if (files.docker) {
    root = await writeDockerIndex(content, files.docker, files);
  } else {
    throw invalidArgument('archive: unrecognized image format: neither oci-layout nor manifest.json');
  }

  const matcher = options.allPlatforms ? allPlatforms : (options.platform ?? onlyPlatform(defaultPlatform()));
  const present = requirePresent(content);
  const kids = setChildrenLabels(content, filterPlatforms(childrenHandler(content), matcher));
  await walk(async (desc) => {
    await present(desc);
    return kids(desc);
  }, root);

  const index = parseIndex(await readDocument(content, root));
  const translate = options.prefix ? refTranslator(options.prefix, true) : refTranslator(defaultImportPrefix(), false);
  const wanted = new Map<string, Descriptor>();
  for (const m of index.manifests) {
    const name = imageNameOf(m.annotations, translate);
    if (name) wanted.set(name, m);
    if (options.digests) wanted.set(`${options.prefix || defaultImportPrefix()}@${m.digest}`, m);
  }
  if (options.indexName) wanted.set(options.indexName, root);
  for (const [name, target] of wanted) {
    validateImage({ name, target });
    await present(target);
  }

  const recorded: Image[] = [];
  for (const [name, target] of wanted) {
    options.signal?.throwIfAborted();
    try {
      recorded.push(await images.update({ name, target }, ['target']));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      recorded.push(await images.create({ name, target }));
    }
  }
  return { index: root, images: recorded };
}
