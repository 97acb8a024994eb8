import type { Provider } from '@berth/content';
import {
  comparePlatforms,
  isIndexMediaType,
  isManifestMediaType,
  parseIndex,
  parseManifest,
  type Descriptor,
  type PlatformMatchComparer,
  type PlatformMatcher,
} from '@berth/spec';
import { readDocument } from './read-document';

/**
 * Walking an image's graph of descriptors with containerd's handler semantics.
 *
 * A `Handler` is called with one descriptor and returns that descriptor's children to visit
 * next (depth first, in order). It may throw `errSkipDesc` to leave the descriptor's children
 * unvisited and go on with its siblings. In a chain built by `handlers()`, throwing
 * `errStopHandler` ends the chain for that descriptor (the children gathered so far are kept).
 * Any other error stops the walk and is passed on.
 */
export type Handler = (desc: Descriptor) => Promise<Descriptor[] | void> | Descriptor[] | void;

/** Thrown by a handler: do not visit this descriptor's children; not an error. */
export const errSkipDesc: Error = Object.freeze(new Error('skip descriptor'));

/** Thrown by a handler inside `handlers()`: stop the chain for this descriptor; not an error. */
export const errStopHandler: Error = Object.freeze(new Error('stop handler'));

/**
 * Calls `handler` for every descriptor in `descs`, then recursively for the children it returns,
 * depth first. See `Handler` for `errSkipDesc`. Visits a descriptor once per path that reaches it
 * (as containerd does; image graphs are trees in practice).
 */
export async function walk(handler: Handler, ...descs: Descriptor[]): Promise<void> {
  for (const desc of descs) {
    let children: Descriptor[] | void;
    try {
      children = await handler(desc);
    } catch (err) {
      if (err === errSkipDesc) continue;
      throw err;
    }
    if (children && children.length > 0) await walk(handler, ...children);
  }
}

/**
 * One handler running `all` in order on each descriptor; the children are the concatenation of
 * what each returns. `errStopHandler` from one ends the chain for that descriptor.
 */
export function handlers(...all: Handler[]): Handler {
  return async (desc) => {
    const children: Descriptor[] = [];
    for (const h of all) {
      try {
        const more = await h(desc);
        if (more) children.push(...more);
      } catch (err) {
        if (err === errStopHandler) break;
        throw err;
      }
    }
    return children;
  };
}

/**
 * The descriptors `desc` references: an index's manifests, a manifest's config then layers,
 * nothing for anything else (configs, layers, and media types berth does not know, as
 * containerd does). Reads and validates the document: `NotFound` when its blob is missing,
 * `InvalidArgument` when it is malformed or not what its media type says.
 */
export async function children(provider: Provider, desc: Descriptor): Promise<Descriptor[]> {
  if (isManifestMediaType(desc.mediaType)) {
    const manifest = parseManifest(await readDocument(provider, desc), desc.mediaType);
    return [manifest.config, ...manifest.layers];
  }
  if (isIndexMediaType(desc.mediaType)) {
    return [...parseIndex(await readDocument(provider, desc), desc.mediaType).manifests];
  }
  return [];
}

/** A handler returning `children(provider, desc)`. */
export function childrenHandler(provider: Provider): Handler {
  return (desc) => children(provider, desc);
}

/**
 * Wraps `handler` so that the children it returns are only those with no platform or one
 * `matcher` accepts (an index's manifests for other platforms are not visited).
 */
export function filterPlatforms(handler: Handler, matcher: PlatformMatcher): Handler {
  return async (desc) => {
    const out = await handler(desc);
    if (!out) return out;
    return out.filter((d) => d.platform === undefined || matcher.match(d.platform));
  };
}

/**
 * Wraps `handler` so that an index yields at most `n` children, the best for `matcher` first
 * (a stable sort by `comparePlatforms`; children without a platform sort last). Children of
 * other descriptors pass unchanged. `n <= 0` means no limit.
 */
export function limitManifests(handler: Handler, matcher: PlatformMatchComparer, n: number): Handler {
  return async (desc) => {
    const out = await handler(desc);
    if (!out || !isIndexMediaType(desc.mediaType)) return out;
    const sorted = [...out].sort((a, b) => comparePlatforms(matcher, a.platform, b.platform));
    return n > 0 ? sorted.slice(0, n) : sorted;
  };
}

/**
 * Walks the image rooted at `desc`: `handler` sees every descriptor, then its children (from
 * `children(provider, desc)`) are visited unless the handler throws `errSkipDesc` or
 * `errStopHandler`. With `matcher`, an index's manifests for other platforms are not visited.
 */
export async function walkImage(
  provider: Provider,
  desc: Descriptor,
  handler: Handler,
  options: { platform?: PlatformMatcher } = {},
): Promise<void> {
  let next: Handler = handlers(handler, childrenHandler(provider));
  if (options.platform) next = filterPlatforms(next, options.platform);
  await walk(next, desc);
}
