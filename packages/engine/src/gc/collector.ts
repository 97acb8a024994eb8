import type { ContentStore } from '@berth/content';
import type { MetadataStore } from '@berth/metadata';
import type { Snapshotter } from '@berth/snapshots';
import type { Digest } from '@berth/spec';
import type { Logger } from '../daemon/log';
import { markReachable, nodeId } from './mark';

/** What a collection works on: the engine's stores (a narrow slice of `EngineContext`). */
export interface CollectorStores {
  readonly metadata: MetadataStore;
  /** The daemon's one blob store (not a namespace's view). */
  readonly content: ContentStore;
  /** The snapshotters that may hold snapshots (opened, or with a directory on disk). */
  presentSnapshotters(): readonly string[];
  snapshotter(name: string): Promise<Snapshotter>;
  readonly log: Logger;
}

/** What one collection removed. */
export interface GcStats {
  /** Content ownership records removed (one per namespace and digest). */
  contentRecords: number;
  /** Blobs deleted from the blob store. */
  blobs: number;
  /** Snapshot ownership records removed. */
  snapshotRecords: number;
  /** Snapshots removed from their snapshotters. */
  snapshots: number;
  /** Expired leases removed. */
  leases: number;
  /** Objects that could not be removed (each is logged; the collection went on). */
  errors: number;
}

/** A backend snapshot as the sweep needs it: its parent's backend name. */
type BackendTree = Map<string, string | undefined>;

/**
 * One mark-and-sweep collection with containerd's semantics (its `metadata/gc.go`), over every
 * namespace at once. The caller makes it exclusive: run it inside `Gate.exclusive` so no
 * mutation is between its record and its backend step (see `Gate`).
 *
 * 1. Read each present snapshotter's tree (name → parent). A snapshotter that cannot be
 *    opened or walked is logged and skipped: its snapshot records are all kept, since their
 *    parents are unknown.
 * 2. In one metadata transaction: read the roots (`gcRoots({ now })`: images, containers,
 *    unexpired leases' resources, `containerd.io/gc.root` labels), mark through `references`
 *    and snapshot parents (`markReachable`), remove every content and snapshot ownership
 *    record not marked, and remove the expired leases (as containerd does).
 * 3. Then the disk, each failure logged and counted without stopping the rest: every blob no
 *    namespace owns is deleted (which also clears blobs orphaned by a crash); every backend
 *    snapshot no record names is removed, children before parents, except the ancestors of
 *    snapshots that stay.
 *
 * Ingests (writes in progress) are never touched, nor is anything an unexpired lease holds.
 */
export async function collectGarbage(stores: CollectorStores, opts: { now?: Date } = {}): Promise<GcStats> {
  const { metadata, log } = stores;
  const stats: GcStats = { contentRecords: 0, blobs: 0, snapshotRecords: 0, snapshots: 0, leases: 0, errors: 0 };
  const failed = (what: string, err: unknown) => {
    stats.errors++;
    log.warn(`gc: ${what}: ${err instanceof Error ? err.message : String(err)}`);
  };

  const recorded = new Set<string>();
  for (const ns of metadata.namespaces.list()) for (const s of metadata.snapshots.list(ns.name)) recorded.add(s.snapshotter);
  const trees = new Map<string, BackendTree>();
  const backends = new Map<string, Snapshotter>();
  for (const name of new Set([...stores.presentSnapshotters(), ...recorded])) {
    try {
      const sn = await stores.snapshotter(name);
      const tree: BackendTree = new Map();
      await sn.walk((info) => void tree.set(info.name, info.parent || undefined));
      trees.set(name, tree);
      backends.set(name, sn);
    } catch (err) {
      failed(`snapshotter ${name} (its snapshots are kept)`, err);
    }
  }

  metadata.transaction((tx) => {
    const roots = tx.gcRoots(opts.now ? { now: opts.now } : {});
    const marked = markReachable(tx, roots, ({ namespace, snapshotter, key }) => {
      const parent = trees.get(snapshotter)?.get(`${namespace}/${key}`);
      return parent?.startsWith(`${namespace}/`) ? parent.slice(namespace.length + 1) : undefined;
    });
    for (const ns of roots) {
      const namespace = ns.namespace;
      for (const c of tx.content.list(namespace)) {
        if (marked.has(nodeId({ type: 'content', namespace, digest: c.digest }))) continue;
        tx.content.remove(namespace, c.digest);
        stats.contentRecords++;
      }
      for (const s of tx.snapshots.list(namespace)) {
        if (!trees.has(s.snapshotter)) continue;
        if (marked.has(nodeId({ type: 'snapshot', namespace, snapshotter: s.snapshotter, key: s.key }))) continue;
        tx.snapshots.remove(namespace, s.snapshotter, s.key);
        stats.snapshotRecords++;
      }
      for (const lease of ns.leases) {
        if (!lease.expired) continue;
        tx.leases.delete(namespace, lease.id);
        stats.leases++;
      }
    }
  });

  await sweepBlobs(stores, stats, failed);
  for (const [name, tree] of trees) await sweepSnapshots(stores, name, backends.get(name)!, tree, stats, failed);
  return stats;
}

/** Deletes every blob no namespace owns. */
async function sweepBlobs(stores: CollectorStores, stats: GcStats, failed: (what: string, err: unknown) => void): Promise<void> {
  const unowned: Digest[] = [];
  try {
    await stores.content.walk((info) => {
      if (!stores.metadata.content.isReferenced(info.digest)) unowned.push(info.digest);
    });
  } catch (err) {
    failed('walking the blob store', err);
  }
  for (const digest of unowned) {
    try {
      await stores.content.delete(digest);
      stats.blobs++;
    } catch (err) {
      failed(`deleting blob ${digest}`, err);
    }
  }
}

/**
 * Removes the backend snapshots of `name` that no ownership record names (`<ns>/<key>`),
 * keeping every ancestor of a snapshot that stays; children first.
 */
async function sweepSnapshots(
  stores: CollectorStores,
  name: string,
  sn: Snapshotter,
  tree: BackendTree,
  stats: GcStats,
  failed: (what: string, err: unknown) => void,
): Promise<void> {
  const keep = new Set<string>();
  for (const ns of stores.metadata.namespaces.list()) {
    for (const s of stores.metadata.snapshots.list(ns.name)) {
      if (s.snapshotter !== name) continue;
      for (let n: string | undefined = `${ns.name}/${s.key}`; n !== undefined && !keep.has(n); n = tree.get(n)) keep.add(n);
    }
  }
  const depth = (n: string): number => {
    let d = 0;
    for (let p = tree.get(n); p !== undefined && d <= tree.size; p = tree.get(p)) d++;
    return d;
  };
  const doomed = [...tree.keys()].filter((n) => !keep.has(n)).map((n) => ({ n, d: depth(n) }));
  doomed.sort((a, b) => b.d - a.d);
  for (const { n } of doomed) {
    try {
      await sn.remove(n);
      stats.snapshots++;
    } catch (err) {
      failed(`removing snapshot "${n}" (${name})`, err);
    }
  }
}
