import { dataLoss, isAlreadyExists, isNotFound } from '@berth/errdefs';
import { Label, gcRefSnapshot, type Descriptor, type Platform } from '@berth/spec';
import type { Connection } from './connection';
import { ContentClient } from './content-client';
import { DiffClient } from './diff-client';
import { resolveImage, type ResolvedImage } from './image-content';
import { SnapshotsClient } from './snapshots-client';
import { randomHex } from './lazy-node';

/** Options of `unpackImage`. */
export interface UnpackOptions {
  /** Default `overlayfs`. */
  snapshotter?: string;
  platform?: Platform;
}

/**
 * Unpacks an image into a snapshotter as containerd's client does: for each layer in order,
 * unless the snapshot named by its chain ID exists, Prepare `extract-<nanos>-<rand> <chainID>`
 * on the previous chain ID, Diff.Apply the layer onto its mounts (the applied digest must be the
 * layer's diff ID), and Commit it under the chain ID (AlreadyExists, a concurrent unpack, is
 * fine). Then the config is labelled `containerd.io/gc.ref.snapshot.<snapshotter>` = top chain
 * ID so the image holds its snapshots. Pass a connection with a lease (`conn.with({ lease })`)
 * so that nothing is collected half-way. Returns the resolved image.
 */
export async function unpackImage(conn: Connection, target: Descriptor, opts: UnpackOptions = {}): Promise<ResolvedImage> {
  const snapshotter = opts.snapshotter ?? 'overlayfs';
  const content = new ContentClient(conn);
  const snapshots = new SnapshotsClient(conn, snapshotter);
  const differ = new DiffClient(conn);
  const image = await resolveImage(content, target, opts.platform);
  const diffIds = image.config.rootfs.diff_ids;
  let parent: string | undefined;
  for (const [i, layer] of image.manifest.layers.entries()) {
    const chain = image.chainIds[i]!;
    if (!(await exists(snapshots, chain))) {
      const key = `extract-${process.hrtime.bigint()}-${randomHex(6)} ${chain}`;
      const mounts = await snapshots.prepare(key, parent);
      try {
        const applied = await differ.apply(layer, mounts);
        if (applied.digest !== diffIds[i]) throw dataLoss(`layer ${layer.digest}: applied ${applied.digest}, expected diff ID ${diffIds[i]}`);
        try {
          await snapshots.commit(chain, key);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          await snapshots.remove(key);
        }
      } catch (err) {
        await snapshots.remove(key).catch(() => {});
        throw err;
      }
      if (layer.digest !== diffIds[i]) await content.update({ digest: layer.digest, labels: { [Label.Uncompressed]: diffIds[i]! } }, [`labels.${Label.Uncompressed}`]).catch(() => {});
    }
    parent = chain;
  }
  const top = image.chainIds.at(-1);
  if (top) {
    const key = gcRefSnapshot(snapshotter);
    await content.update({ digest: image.configDescriptor.digest, labels: { [key]: top } }, [`labels.${key}`]);
  }
  return image;
}

/** True when the image's top snapshot exists in the snapshotter. */
export async function isUnpacked(conn: Connection, image: ResolvedImage, snapshotter = 'overlayfs'): Promise<boolean> {
  const top = image.chainIds.at(-1);
  return top === undefined || exists(new SnapshotsClient(conn, snapshotter), top);
}

async function exists(snapshots: SnapshotsClient, key: string): Promise<boolean> {
  try {
    await snapshots.stat(key);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
