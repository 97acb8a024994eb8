import { isNotFound } from '@berth/errdefs';
import type { MetadataView } from '@berth/metadata';
import type { Snapshotter } from '@berth/snapshots';
import type { EngineContext } from '../context';

/**
 * Which namespace owns a snapshot, in which snapshotter, and the lease (if any) that holds what
 * it creates: the rules the Snapshots service and server-side unpack share.
 *
 * - In the backend a namespace's `key` is `backendKey(ns, key)`; the metadata store records the
 *   (ns, snapshotter, key) a namespace owns, with its labels.
 * - Creating: the record (and the lease's hold on it) is written first, in one transaction,
 *   then the backend changes; if that fails the record is taken back. Both steps run inside
 *   `ctx.gc.gate.shared`, so a collection never sees one without the other.
 * - Removing: the record must exist (NotFound otherwise); a backend snapshot that is already
 *   gone (a crash between the two writes) is fine; then the record goes, and the collector is
 *   marked dirty (the parent may be garbage now).
 */
export interface SnapshotOwner {
  ns: string;
  snapshotter: string;
  lease?: string | undefined;
}

/** The key a namespace's snapshot `key` has in the backend snapshotter: `<ns>/<key>`. */
export function backendKey(ns: string, key: string): string {
  return `${ns}/${key}`;
}

/** Records `key` for `owner`, then runs `change` on the backend; takes the record back if that fails (and rethrows). */
export function createOwned<T>(ctx: EngineContext, owner: SnapshotOwner, key: string, labels: Record<string, string>, change: () => Promise<T>): Promise<T> {
  return ctx.gc.gate.shared(async () => {
    ctx.metadata.transaction((tx) => {
      tx.snapshots.add(owner.ns, owner.snapshotter, key, labels);
      if (owner.lease) tx.leases.addResource(owner.ns, owner.lease, { type: `snapshots/${owner.snapshotter}`, id: key });
    });
    try {
      return await change();
    } catch (err) {
      try {
        ctx.metadata.transaction((tx) => dropOwned(tx, owner, key));
      } catch (undo) {
        ctx.log.warn(`snapshot "${key}" (${owner.snapshotter}): cannot take back the ownership record: ${(undo as Error).message}`);
      }
      throw err;
    }
  });
}

/** Drops the record of `key` and the lease's hold on it (either may be gone already). */
export function dropOwned(tx: MetadataView, owner: SnapshotOwner, key: string): void {
  try {
    tx.snapshots.remove(owner.ns, owner.snapshotter, key);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!owner.lease) return;
  try {
    tx.leases.deleteResource(owner.ns, owner.lease, { type: `snapshots/${owner.snapshotter}`, id: key });
  } catch (err) {
    if (!isNotFound(err)) throw err; // the lease itself is gone: nothing to drop
  }
}

/** Removes `owner`'s `key` from `backend` and its record (NotFound when the namespace owns no such key). */
export async function removeOwned(ctx: EngineContext, backend: Snapshotter, owner: SnapshotOwner, key: string): Promise<void> {
  await ctx.gc.gate.shared(async () => {
    ctx.metadata.snapshots.get(owner.ns, owner.snapshotter, key);
    try {
      await backend.remove(backendKey(owner.ns, key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    ctx.metadata.transaction((tx) => dropOwned(tx, owner, key));
  });
  ctx.gc.markDirty();
}
