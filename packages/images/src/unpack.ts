import { randomBytes } from 'node:crypto';
import type { Manager, Provider } from '@berth/content';
import type { Applier } from '@berth/diff';
import { dataLoss, invalidArgument, isAlreadyExists, isNotFound, notImplemented } from '@berth/errdefs';
import type { Snapshotter } from '@berth/snapshots';
import { Label, chainIds, isLayerMediaType, type Descriptor, type Digest, type PlatformMatcher } from '@berth/spec';
import { setBlobLabels, snapshotGcLabel } from './gc-labels';
import { resolveManifest } from './manifest';
import type { Image } from './types';

/** The label an unpack puts on its active snapshot: the chain ID it is building. */
export const SnapshotRefLabel = 'containerd.io/snapshot.ref';

/** Options of `unpack`. Give `image` or `target`. */
export interface UnpackOptions {
  /** Where the manifest, config and layer blobs are, and where the labels go. */
  content: Provider & Manager;
  snapshotter: Snapshotter;
  /** Applies one layer blob onto the mounts of an active snapshot. */
  applier: Applier;
  /** The snapshotter's registered name (`overlayfs`, `native`), for the config's GC label. */
  snapshotterName: string;
  image?: Pick<Image, 'target'>;
  target?: Descriptor;
  /** Which manifest of an index to unpack (default: `resolveManifest`'s). */
  platform?: PlatformMatcher;
  signal?: AbortSignal;
}

/** What `unpack` did. */
export interface UnpackResult {
  /** The chain ID of the top layer: the committed snapshot a container's rootfs starts from. */
  chainId: Digest;
  /** How many layers were applied by this call (the others were already unpacked). */
  applied: number;
}

const prepareAttempts = 3;

async function snapshotExists(sn: Snapshotter, name: string): Promise<boolean> {
  try {
    await sn.stat(name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function removeQuietly(sn: Snapshotter, key: string): Promise<void> {
  // Best effort: NotFound means already gone, and any other failure must not hide the error
  // (or the lost commit race) that got us here.
  await sn.remove(key).catch(() => {});
}

/** Prepares a fresh active snapshot, retrying with a new random key if the key is taken. */
async function prepareFresh(sn: Snapshotter, chainId: Digest, parent: Digest | undefined, signal?: AbortSignal): Promise<{ key: string; mounts: Awaited<ReturnType<Snapshotter['prepare']>> }> {
  for (let attempt = 1; ; attempt++) {
    const key = `extract-${randomBytes(8).toString('hex')}-${chainId}`;
    try {
      const mounts = await sn.prepare(key, parent, { labels: { [SnapshotRefLabel]: chainId }, ...(signal ? { signal } : {}) });
      return { key, mounts };
    } catch (err) {
      if (!isAlreadyExists(err) || attempt >= prepareAttempts) throw err;
    }
  }
}

/**
 * Unpacks an image's layers into `snapshotter` for a platform and returns the top chain ID.
 *
 * For each layer, bottom up: if the snapshot named by its chain ID exists, it is skipped;
 * otherwise `prepare('extract-<random>-<chainID>', parentChainID)` with label
 * `containerd.io/snapshot.ref=<chainID>`, `applier.apply(layer, mounts)`, a check that the
 * applied digest is the config's diffID (DataLoss otherwise), and `commit(chainID, key)`.
 * Then the layer blob gets `containerd.io/uncompressed=<diffID>`, and at the end the config gets
 * `containerd.io/gc.ref.snapshot.<snapshotterName>=<top chainID>`.
 *
 * Safe to run concurrently for the same image, in this or other processes: each call works in
 * its own active snapshot, and when the commit finds the chain ID already committed
 * (AlreadyExists, another unpack won) the call removes its own snapshot and goes on from the
 * winner's. On any error the active snapshot of the layer in progress is removed: nothing
 * leaks; layers committed before the error stay (they are valid, and the next unpack reuses
 * them).
 *
 * Errors: those of `resolveManifest` (NotFound for no platform match, InvalidArgument for
 * malformed documents); InvalidArgument when the manifest's layer count differs from the
 * config's diff_ids or the image has no layers; NotImplemented for a layer media type berth
 * cannot apply; DataLoss for a layer whose content does not match its diffID; the
 * snapshotter's and applier's own kinds.
 */
export async function unpack(options: UnpackOptions): Promise<UnpackResult> {
  const { content, snapshotter: sn, applier, signal } = options;
  const target = options.target ?? options.image?.target;
  if (!target) throw invalidArgument('unpack: an image or a target is required');
  if (!options.snapshotterName) throw invalidArgument('unpack: snapshotter name must not be empty');
  const { manifest, config } = await resolveManifest(content, target, options.platform);
  const diffIds = config.rootfs.diff_ids;
  const layers = manifest.layers;
  if (layers.length !== diffIds.length) {
    throw invalidArgument(`image ${target.digest}: ${layers.length} layers but ${diffIds.length} diff_ids in config ${manifest.config.digest}`);
  }
  if (layers.length === 0) throw invalidArgument(`image ${target.digest}: no layers to unpack`);
  const chain = chainIds(diffIds);

  let applied = 0;
  for (const [i, layer] of layers.entries()) {
    signal?.throwIfAborted();
    const chainId = chain[i]!;
    const diffId = diffIds[i]!;
    if (!isLayerMediaType(layer.mediaType)) {
      throw notImplemented(`layer ${layer.digest}: media type ${JSON.stringify(layer.mediaType)} cannot be unpacked`);
    }
    if (!(await snapshotExists(sn, chainId))) {
      if (await applyLayer(options, layer, diffId, chainId, chain[i - 1])) applied++;
    }
    await setBlobLabels(content, layer.digest, { [Label.Uncompressed]: diffId });
  }
  const top = chain[chain.length - 1]!;
  await setBlobLabels(content, manifest.config.digest, snapshotGcLabel(options.snapshotterName, top));
  return { chainId: top, applied };
}

/** Applies one layer in a fresh active snapshot; false when another unpack committed it first. */
async function applyLayer(options: UnpackOptions, layer: Descriptor, diffId: Digest, chainId: Digest, parent: Digest | undefined): Promise<boolean> {
  const { snapshotter: sn, applier, signal } = options;
  const { key, mounts } = await prepareFresh(sn, chainId, parent, signal);
  try {
    const result = await applier.apply(layer, mounts, signal ? { signal } : {});
    if (result.digest !== diffId) {
      throw dataLoss(`layer ${layer.digest}: applied content has digest ${result.digest}, config says diffID ${diffId}`);
    }
    try {
      await sn.commit(chainId, key, signal ? { signal } : {});
      return true;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await removeQuietly(sn, key);
      return false;
    }
  } catch (err) {
    await removeQuietly(sn, key);
    throw err;
  }
}
