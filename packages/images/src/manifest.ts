import type { Provider } from '@berth/content';
import { invalidArgument, notFound } from '@berth/errdefs';
import {
  comparePlatforms,
  defaultPlatform,
  isConfigMediaType,
  isIndexMediaType,
  isManifestMediaType,
  normalizePlatform,
  onlyPlatform,
  parseImageConfig,
  parseIndex,
  parseManifest,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
  type Platform,
  type PlatformMatchComparer,
  type PlatformMatcher,
} from '@berth/spec';
import { readDocument } from './read-document';
import { childrenHandler, filterPlatforms, limitManifests, walk } from './walk';

/** A matcher that accepts every platform and prefers none (containerd's `platforms.All`). */
export const allPlatforms: PlatformMatchComparer = Object.freeze({ match: () => true, less: () => false });

/** What `resolveManifest` found: the manifest for the platform and its parsed image config. */
export interface ResolvedManifest {
  manifestDesc: Descriptor;
  manifest: Manifest;
  /** The image config; its descriptor is `manifest.config`. */
  config: ImageConfig;
}

// Nested indexes deeper than this are refused, so a cycle of indexes cannot loop forever.
const maxIndexDepth = 8;

/** A matcher's ranking, or none when it only matches. */
function comparer(matcher: PlatformMatcher): PlatformMatchComparer {
  return 'less' in matcher ? (matcher as PlatformMatchComparer) : { match: (p) => matcher.match(p), less: () => false };
}

/** The platform an image config describes, normalized (what a manifest without a platform is for). */
export function configPlatform(config: ImageConfig): Platform {
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) p.variant = config.variant;
  if (config['os.version'] !== undefined) p['os.version'] = config['os.version'];
  if (config['os.features'] !== undefined) p['os.features'] = config['os.features'];
  return normalizePlatform(p);
}

/**
 * The manifest of image `target` for a platform, with its image config. `target` is a manifest
 * or an index (nested indexes are followed). In an index, the manifests with no platform or one
 * `platform` matches are tried best first (a stable sort by `comparePlatforms`; those without a
 * platform last); a manifest reached without a platform must have a config whose platform
 * matches. Default matcher: `onlyPlatform(defaultPlatform())`.
 *
 * Errors: `NotFound` "no match for platform" when nothing matches (or a needed blob is
 * missing); `InvalidArgument` for a malformed document, a config whose media type is not an
 * image config, a target that is neither a manifest nor an index, or indexes nested deeper
 * than 8.
 */
export async function resolveManifest(
  provider: Provider,
  target: Descriptor,
  platform: PlatformMatcher = onlyPlatform(defaultPlatform()),
): Promise<ResolvedManifest> {
  const matcher = comparer(platform);
  const found = await resolve(provider, target, matcher, 0);
  if (found) return found;
  throw notFound(`image ${target.digest}: no match for platform in ${isIndexMediaType(target.mediaType) ? 'index' : 'manifest'}`);
}

async function resolve(
  provider: Provider,
  desc: Descriptor,
  matcher: PlatformMatchComparer,
  depth: number,
): Promise<ResolvedManifest | undefined> {
  if (isManifestMediaType(desc.mediaType)) {
    const manifest = parseManifest(await readDocument(provider, desc), desc.mediaType);
    if (!isConfigMediaType(manifest.config.mediaType)) {
      throw invalidArgument(`manifest ${desc.digest}: config media type ${JSON.stringify(manifest.config.mediaType)} is not an image config`);
    }
    const config = parseImageConfig(await readDocument(provider, manifest.config), manifest.config.mediaType);
    if (desc.platform === undefined && !matcher.match(configPlatform(config))) return undefined;
    return { manifestDesc: desc, manifest, config };
  }
  if (isIndexMediaType(desc.mediaType)) {
    if (depth >= maxIndexDepth) throw invalidArgument(`index ${desc.digest}: indexes nested deeper than ${maxIndexDepth}`);
    const index = parseIndex(await readDocument(provider, desc), desc.mediaType);
    const candidates = index.manifests
      .filter((m) => m.platform === undefined || matcher.match(m.platform))
      .sort((a, b) => comparePlatforms(matcher, a.platform, b.platform));
    for (const candidate of candidates) {
      const found = await resolve(provider, candidate, matcher, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  throw invalidArgument(`image target ${desc.digest}: media type ${JSON.stringify(desc.mediaType)} is neither a manifest nor an index`);
}

/**
 * The diffIDs (uncompressed layer digests) of the image for a platform, bottom first, from its
 * config's `rootfs.diff_ids`. Errors as `resolveManifest`.
 */
export async function imageRootFS(provider: Provider, target: Descriptor, platform?: PlatformMatcher): Promise<Digest[]> {
  const { config } = await resolveManifest(provider, target, platform);
  return [...config.rootfs.diff_ids];
}

/**
 * The image's size in the content store for a platform, as containerd computes it: the target,
 * the best manifest for the platform, its config and its layers, by descriptor size (layers
 * are counted compressed and need not be present). Errors as `children`.
 */
export async function imageSize(provider: Provider, target: Descriptor, platform: PlatformMatcher = onlyPlatform(defaultPlatform())): Promise<number> {
  const matcher = comparer(platform);
  let size = 0;
  const kids = limitManifests(filterPlatforms(childrenHandler(provider), matcher), matcher, 1);
  await walk(async (desc) => {
    size += desc.size;
    return kids(desc);
  }, target);
  return size;
}
