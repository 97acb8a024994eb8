import { createReadStream } from 'node:fs';
import { isAlreadyExists, notFound, invalidArgument } from '@berth/errdefs';
import {
  chainIds,
  createDigester,
  defaultPlatform,
  isIndexMediaType,
  isManifestMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  platformMatcher,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
  type Platform,
} from '@berth/spec';
import type { ContentClient } from './content-client';

/** An image resolved for one platform: its manifest, config and layers' chain IDs. */
export interface ResolvedImage {
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  configDescriptor: Descriptor;
  config: ImageConfig;
  /** The chain ID of each layer (the last is the image's rootfs snapshot name). */
  chainIds: Digest[];
  /** Compressed size of the config and layers (what `images` shows). */
  size: number;
}

/**
 * Small immutable blobs (manifests, indexes, configs) kept by digest, e.g. across the commands
 * of a CLI: `resolveImage` then needs no Content call for an image it resolved before. What
 * `get` returns is trusted to be the blob of that digest (only its size is checked).
 */
export interface BlobCache {
  get(digest: Digest): Buffer | undefined;
  set(digest: Digest, blob: Buffer): void;
}

/** Reads a whole (small) blob in one call (see `ContentClient.readBlob`), or from `cache`. */
export async function readBlob(content: ContentClient, desc: Pick<Descriptor, 'digest'> & { size?: number }, cache?: BlobCache): Promise<Buffer> {
  const cached = cache?.get(desc.digest);
  if (cached && (desc.size === undefined || cached.length === desc.size)) return cached;
  const blob = await content.readBlob(desc);
  cache?.set(desc.digest, blob);
  return blob;
}

/**
 * Walks from an image's target (index or manifest) to the manifest for `platform` (default: this
 * host's), then reads its config (each blob from `cache` when it has it). NotFound when no manifest matches; an index whose entries carry
 * no platform (as single-image OCI layouts do) gives its first manifest.
 */
export async function resolveImage(content: ContentClient, target: Descriptor, platform: Platform = defaultPlatform(), cache?: BlobCache): Promise<ResolvedImage> {
  const match = platformMatcher(platform);
  let desc = target;
  for (let depth = 0; isIndexMediaType(desc.mediaType); depth++) {
    if (depth > 4) throw invalidArgument(`image ${target.digest}: indexes nested too deep`);
    const index = parseIndex(await readBlob(content, desc, cache), desc.mediaType);
    const next = index.manifests.find((m) => !m.platform || match.match(m.platform));
    if (!next) throw notFound(`image ${target.digest}: no manifest for platform ${platform.os}/${platform.architecture}`);
    desc = next;
  }
  if (!isManifestMediaType(desc.mediaType)) throw invalidArgument(`image ${target.digest}: unsupported media type ${desc.mediaType}`);
  const manifest = parseManifest(await readBlob(content, desc, cache), desc.mediaType);
  const config = parseImageConfig(await readBlob(content, manifest.config, cache), manifest.config.mediaType);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw invalidArgument(`image ${target.digest}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  return {
    manifestDescriptor: desc,
    manifest,
    configDescriptor: manifest.config,
    config,
    chainIds: chainIds(diffIds),
    size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
  };
}

/** The sha256 digest and size of a local file (or of a byte range of it). */
export async function digestFile(path: string, start = 0, size?: number): Promise<{ digest: Digest; size: number }> {
  const digester = createDigester();
  let n = 0;
  const stream = createReadStream(path, size === undefined ? { start } : { start, end: start + size - 1 });
  for await (const chunk of stream) {
    digester.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return { digest: digester.digest(), size: n };
}

/**
 * Writes a blob of known digest and size into the content store from `source` (called only when
 * the store does not have it), with `labels`. Returns false when the blob was already committed;
 * its `labels` are then set on it (Content.Update) so that it holds what it references.
 */
export async function writeBlob(
  content: ContentClient,
  ref: string,
  desc: { digest: Digest; size: number },
  source: () => AsyncIterable<Uint8Array>,
  labels?: Record<string, string>,
): Promise<boolean> {
  const existed = async (): Promise<false> => {
    if (labels) await content.update({ digest: desc.digest, labels }, Object.keys(labels).map((k) => `labels.${k}`));
    return false;
  };
  let writer;
  try {
    writer = await content.writer({ ref, total: desc.size, expected: desc.digest });
  } catch (err) {
    if (isAlreadyExists(err)) return existed();
    throw err;
  }
  try {
    const { offset } = await writer.status();
    if (offset > 0) await writer.truncate(0);
    for await (const chunk of source()) await writer.write(chunk);
    await writer.commit({ size: desc.size, expected: desc.digest, ...(labels ? { labels } : {}) });
    return true;
  } catch (err) {
    await writer.close().catch(() => {});
    if (isAlreadyExists(err)) return existed();
    throw err;
  }
}
