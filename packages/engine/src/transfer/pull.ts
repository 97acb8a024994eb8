import type { Manager, Provider } from '@berth/content';
import { createApplier } from '@berth/diff';
import { notFound } from '@berth/errdefs';
import { gcLabelsFor, readDocument, setBlobLabels, unpack } from '@berth/images';
import type { Image } from '@berth/metadata';
import type { RegistryClient } from '@berth/registry';
import {
  comparePlatforms,
  defaultPlatform,
  distributionSource,
  isIndexMediaType,
  isManifestMediaType,
  orderedPlatforms,
  parseIndex,
  parseManifest,
  parseReference,
  type Descriptor,
  type Digest,
  type Platform,
  type PlatformMatchComparer,
} from '@berth/spec';
import type { EngineContext } from '../context';
import type { NamespacedContentStore } from '../services/content-namespaced';
import { fetchBlob } from './fetch-blob';
import { NamespacedSnapshotter } from './namespaced-snapshotter';
import { refKey, type ProgressFn } from './progress';
import { storeImage } from './store-image';

/** What to unpack after a pull: a platform's manifest into a snapshotter. */
export interface UnpackTarget {
  /** Default: the host's platform. */
  platform?: Platform;
  /** Default `overlayfs`. */
  snapshotter?: string;
}

/** Options of `pullImage`. */
export interface PullImageOptions {
  ctx: EngineContext;
  namespace: string;
  /** The namespace's content, recording into the pull's lease. */
  content: NamespacedContentStore;
  /** The lease unpacked snapshots are added to. */
  lease: string | undefined;
  client: RegistryClient;
  reference: string;
  /** The image record's name (default: the normalized reference) and labels. */
  name?: string;
  labels?: Record<string, string>;
  /** The manifests of an index to fetch; none means all. */
  platforms?: Platform[];
  /** Fetch at most this many manifests of an index (0: all that match). */
  manifestLimit?: number;
  unpacks?: UnpackTarget[];
  /** Blobs downloaded at once. Default 3. */
  concurrency?: number;
  progress?: ProgressFn;
  signal?: AbortSignal;
}

/**
 * Pulls `reference` into the namespace, as containerd 2's transfer service does, and returns the
 * image record:
 *
 * 1. resolve the reference to its root descriptor;
 * 2. fetch the root and, for an index, the manifests `platforms` select (best first, at most
 *    `manifestLimit`), each manifest's config, and its layers — at most `concurrency` blobs at a
 *    time, each straight into the content store through the ingest `pull-<digest>`, so an
 *    interrupted pull resumes with a Range request; a blob already in the namespace's content is
 *    not downloaded again;
 * 3. label what it fetched as containerd's pull does: `containerd.io/distribution.source.<host>`
 *    (the repository, merged with earlier ones) on every blob, and `containerd.io/gc.ref.content.*`
 *    on each index and manifest for the children it fetched;
 * 4. unpack each of `unpacks` while the layers download: layer N is applied once it is committed
 *    and the layers below it are unpacked (the unpack reads the content through a view that waits
 *    for blobs still downloading), so the config gets `gc.ref.snapshot.<snapshotter>`;
 * 5. create the image record, or update its target and labels (`/images/create` or
 *    `/images/update`).
 *
 * Everything fetched and unpacked is added to the content store's lease (`content.lease`), which
 * the caller holds until the image record exists. A failure stops the other downloads and
 * rejects with the first error (DataLoss for wrong bytes, NotFound for an unknown reference or no
 * manifest for the platforms, the registry's Unauthenticated/Unavailable); no image record is
 * written then.
 */
export async function pullImage(opts: PullImageOptions): Promise<Image> {
  const { content, client, progress = () => {} } = opts;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(opts.signal!.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = abort.signal;
  try {
    const resolved = await client.resolve(opts.reference, { signal });
    const root = resolved.descriptor;
    progress({ event: 'resolved', name: resolved.name, desc: root });
    const repo = parseReference(resolved.name);
    const sourceKey = distributionSource(repo.domain);
    const fetcher = client.fetcher(resolved.name);
    const limit = limiter(opts.concurrency ?? 3);
    const matcher = opts.platforms && opts.platforms.length > 0 ? orderedPlatforms(...opts.platforms) : undefined;

    /** Blobs being fetched, by digest: each fetched once, however often it appears. */
    const fetching = new Map<Digest, Promise<void>>();
    const manifests: Descriptor[] = [];
    const layers = new Set<string>();

    const fetchOne = (desc: Descriptor, parent?: Descriptor): Promise<void> => {
      let p = fetching.get(desc.digest);
      if (!p) {
        p = limit(async () => {
          signal.throwIfAborted();
          const name = refKey(desc);
          const parents = parent ? [refKey(parent)] : [];
          progress({ event: 'waiting', name, parents, total: desc.size, desc });
          const got = await fetchBlob({
            content,
            fetcher,
            desc,
            ref: `pull-${desc.digest}`,
            labels: { [sourceKey]: repo.path },
            signal,
            onProgress: (offset) => progress({ event: 'downloading', name, parents, progress: offset, total: desc.size }),
          });
          if (got.outcome === 'exists') {
            await addSource(content, desc.digest, sourceKey, repo.path);
            progress({ event: 'already exists', name, parents, progress: desc.size, total: desc.size, desc });
          } else {
            progress({ event: 'complete', name, parents, progress: desc.size, total: desc.size, desc });
          }
        });
        fetching.set(desc.digest, p);
        // Failures surface where the pull awaits every fetch; this one only keeps it from being unhandled meanwhile.
        p.catch(() => {});
      }
      return p;
    };

    /** Fetches `desc` and the tree below it; returns once documents and configs are in, with layers under way. */
    const visit = async (desc: Descriptor, parent?: Descriptor, depth = 0): Promise<void> => {
      if (isIndexMediaType(desc.mediaType) && depth < 8) {
        await fetchOne(desc, parent);
        const index = parseIndex(await readDocument(content, desc), desc.mediaType);
        const chosen = selectManifests(index.manifests, matcher, opts.manifestLimit ?? 0);
        if (chosen.length === 0) throw notFound(`image ${resolved.name}: no manifest matches the platforms asked for`);
        await setBlobLabels(content, desc.digest, gcLabelsFor(desc, chosen));
        await Promise.all(chosen.map((child) => visit(child, desc, depth + 1)));
      } else if (isManifestMediaType(desc.mediaType)) {
        await fetchOne(desc, parent);
        const manifest = parseManifest(await readDocument(content, desc), desc.mediaType);
        await setBlobLabels(content, desc.digest, gcLabelsFor(desc, [manifest.config, ...manifest.layers]));
        await fetchOne(manifest.config, desc);
        for (const layer of manifest.layers) {
          layers.add(layer.digest);
          void fetchOne(layer, desc);
        }
        manifests.push(desc);
      } else {
        await fetchOne(desc, parent);
      }
    };

    const sn = async (name: string) => new NamespacedSnapshotter(opts.ctx, await opts.ctx.snapshotter(name), name, opts.namespace, opts.lease);
    const unpacking: Promise<unknown>[] = [];
    try {
      await visit(root);
      const waiting = waitingContent(content, fetching, (digest) => {
        if (layers.has(digest)) progress({ event: 'unpacking', name: `layer-${digest}` });
      });
      for (const u of opts.unpacks ?? []) {
        const platform = orderedPlatforms(u.platform ?? defaultPlatform());
        const target = bestManifest(manifests, platform);
        if (!target) continue; // nothing fetched for that platform: nothing to unpack, as containerd's unpacker
        const name = u.snapshotter || 'overlayfs';
        const p = (async () => {
          const result = await unpack({ content: waiting, snapshotter: await sn(name), applier: createApplier({ content: waiting }), snapshotterName: name, target, platform, signal });
          progress({ event: 'unpacked', name: refKey(target), desc: target, progress: result.applied, total: result.applied });
        })();
        p.catch(() => {});
        unpacking.push(p);
      }
      await Promise.all([...fetching.values(), ...unpacking]);
    } catch (err) {
      abort.abort(err);
      // Let every download and unpack stop before the lease can go: none may still be writing.
      await Promise.allSettled([...fetching.values(), ...unpacking]);
      throw err;
    }

    const image = storeImage(opts.ctx, opts.namespace, { name: opts.name || resolved.name, target: root, labels: opts.labels ?? {} });
    progress({ event: 'saved', name: image.name, desc: root });
    return image;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** The manifests of an index to fetch: those with no platform or one `matcher` takes (all without one), best first, at most `limit`. */
function selectManifests(children: Descriptor[], matcher: PlatformMatchComparer | undefined, limit: number): Descriptor[] {
  let out = children.filter((d) => isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType));
  if (matcher) {
    out = out.filter((d) => d.platform === undefined || matcher.match(d.platform));
    out = out.map((d, i) => ({ d, i })).sort((a, b) => comparePlatforms(matcher, a.d.platform, b.d.platform) || a.i - b.i).map((x) => x.d);
  }
  return limit > 0 ? out.slice(0, limit) : out;
}

/** The fetched manifest best for `matcher` (one without a platform, e.g. the root, counts as a match). */
function bestManifest(manifests: Descriptor[], matcher: PlatformMatchComparer): Descriptor | undefined {
  const candidates = manifests.filter((d) => d.platform === undefined || matcher.match(d.platform));
  return candidates.sort((a, b) => comparePlatforms(matcher, a.platform, b.platform))[0];
}

/** Appends `repo` to a blob's distribution-source label (containerd keeps a sorted, comma-separated set). */
async function addSource(content: NamespacedContentStore, digest: Digest, key: string, repo: string): Promise<void> {
  const current = (await content.info(digest)).labels[key];
  const repos = new Set(current ? current.split(',') : []);
  if (repos.has(repo)) return;
  repos.add(repo);
  await setBlobLabels(content, digest, { [key]: [...repos].sort().join(',') });
}

/**
 * The content as an unpack running beside the downloads sees it: `info` and `readerAt` of a blob
 * still being fetched wait for its commit (and fail with its download's error), so unpack applies
 * each layer as soon as it is in. `onLayer` is told when a fetched blob is first opened for reading.
 */
function waitingContent(base: NamespacedContentStore, fetching: Map<Digest, Promise<void>>, onLayer: (d: Digest) => void): Provider & Manager {
  const opened = new Set<string>();
  const ready = async (digest: string): Promise<void> => {
    await fetching.get(digest as Digest);
  };
  return {
    async info(digest) {
      await ready(digest);
      return base.info(digest);
    },
    async readerAt(desc) {
      await ready(desc.digest);
      if (fetching.has(desc.digest as Digest) && !opened.has(desc.digest)) {
        opened.add(desc.digest);
        onLayer(desc.digest as Digest);
      }
      return base.readerAt(desc);
    },
    update: (info, fieldpaths) => base.update(info, fieldpaths),
    walk: (fn, ...filters) => base.walk(fn, ...filters),
    delete: (digest) => base.delete(digest),
  };
}

/** Runs at most `n` of the functions given to it at once, in the order given. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

