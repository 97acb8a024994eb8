import { writeBlob, type ContentStore } from '@berth/content';
import { invalidArgument } from '@berth/errdefs';
import { MediaType, digestOf, parseImageConfig, type Descriptor, type Digest } from '@berth/spec';
import { cleanArchivePath } from './archive-reader';
import { goDescriptor, goJson } from './go-json';
import { configPlatform } from './manifest';
import { AnnotationImageName, AnnotationRefName, normalizeRepoTag, ociReferenceName } from './names';
import { readDocument } from './read-document';

/**
 * Turning a docker-archive (`docker save`: `manifest.json` + config + `layer.tar`s) into an OCI
 * index over Docker schema 2 manifests, as containerd's importer does, with the same bytes
 * (Go's JSON field order) so the digests match what `ctr images import` records.
 *
 * Layers are kept as they are in the archive (not recompressed, containerd's default since
 * 1.5): an uncompressed `layer.tar` gets Docker's `application/vnd.docker.image.rootfs.diff.tar`,
 * the media type containerd gives it, which keeps the manifest a pure Docker schema 2 document
 * and the digests identical to containerd's; a gzip one `…rootfs.diff.tar.gzip`.
 */

/** Docker's media type for an uncompressed layer tar. */
export const DockerLayerTar = 'application/vnd.docker.image.rootfs.diff.tar';

/** One image of `manifest.json`. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Where each archive file went in the content store, by cleaned path, plus the symlinks. */
export interface ArchiveFiles {
  blobs: Map<string, { digest: Digest; size: number }>;
  symlinks: Map<string, string>;
}

/** Checks the shape of a parsed `manifest.json`; InvalidArgument naming the field otherwise. */
export function parseDockerManifestJson(data: Buffer): DockerManifestEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`manifest.json: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(value)) throw invalidArgument('manifest.json: must be an array');
  if (value.length === 0) throw invalidArgument('manifest.json: lists no images');
  return value.map((item: unknown, i) => {
    const at = `manifest.json: [${i}]`;
    if (typeof item !== 'object' || item === null) throw invalidArgument(`${at}: must be an object`);
    const { Config, RepoTags, Layers } = item as Record<string, unknown>;
    if (typeof Config !== 'string' || Config === '') throw invalidArgument(`${at}.Config: must be a non-empty string`);
    const strings = (v: unknown, field: string): string[] => {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw invalidArgument(`${at}.${field}: must be an array of strings`);
      return v as string[];
    };
    return { Config, RepoTags: strings(RepoTags, 'RepoTags'), Layers: strings(Layers, 'Layers') };
  });
}

function lookup(files: ArchiveFiles, name: string, what: string): { digest: Digest; size: number } {
  let path = cleanArchivePath(name, what);
  for (let hops = 0; hops < 8; hops++) {
    const blob = files.blobs.get(path);
    if (blob) return blob;
    const next = files.symlinks.get(path);
    if (next === undefined) break;
    path = next;
  }
  throw invalidArgument(`${what} ${JSON.stringify(name)}: not in the archive`);
}

async function layerMediaType(content: ContentStore, desc: { digest: Digest; size: number }): Promise<string> {
  if (desc.size === 0) return DockerLayerTar;
  const reader = await content.readerAt(desc);
  let head: Buffer;
  try {
    head = await reader.read(0, 4);
  } finally {
    await reader.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return MediaType.DockerLayerGzip;
  // Docker has no zstd layer type; the OCI one is what every reader of Docker manifests accepts.
  if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MediaType.OciLayerZstd;
  return DockerLayerTar;
}

async function writeDocument(content: ContentStore, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.length };
  await writeBlob(content, `manifest-${desc.digest}`, bytes, desc);
  return desc;
}

/**
 * Writes one Docker schema 2 manifest per `manifest.json` entry (config as
 * `application/vnd.docker.container.image.v1+json`, layers as found) and an OCI index listing
 * each manifest once per RepoTag, annotated with `io.containerd.image.name` (the normalized tag)
 * and `org.opencontainers.image.ref.name`, or once without annotations when it has no tags.
 * Each manifest descriptor carries the platform from its config. Returns the index descriptor.
 * InvalidArgument when a path is missing from the archive, a config is malformed, or a tag
 * does not parse.
 */
export async function writeDockerIndex(content: ContentStore, entries: readonly DockerManifestEntry[], files: ArchiveFiles): Promise<Descriptor> {
  const manifests: Descriptor[] = [];
  for (const entry of entries) {
    const config: Descriptor = { mediaType: MediaType.DockerConfig, ...lookup(files, entry.Config, 'manifest.json: config') };
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) {
      const blob = lookup(files, layer, 'manifest.json: layer');
      layers.push({ mediaType: await layerMediaType(content, blob), ...blob });
    }
    const image = parseImageConfig(await readDocument(content, config), config.mediaType);
    if (image.rootfs.diff_ids.length !== layers.length) {
      throw invalidArgument(`manifest.json: config ${entry.Config}: ${image.rootfs.diff_ids.length} diff_ids for ${layers.length} layers`);
    }
    const bytes = Buffer.from(
      goJson({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: goDescriptor(config), layers: layers.map(goDescriptor) }),
    );
    const desc = { ...(await writeDocument(content, bytes, MediaType.DockerManifest)), platform: configPlatform(image) };
    if (entry.RepoTags.length === 0) manifests.push(desc);
    for (const tag of entry.RepoTags) {
      const name = normalizeRepoTag(tag);
      manifests.push({ ...desc, annotations: { [AnnotationImageName]: name, [AnnotationRefName]: ociReferenceName(name) } });
    }
  }
  const index = Buffer.from(goJson({ schemaVersion: 2, manifests: manifests.map(goDescriptor) }));
  return writeDocument(content, index, MediaType.OciIndex);
}
