import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaType } from '@berth/spec';
import type { Connection } from './connection';
import { ContainersClient, type ContainerRecord } from './containers-client';
import { ContentClient } from './content-client';
import { DiffClient, readOnlyView } from './diff-client';
import { expiringLeaseLabels, LeasesClient } from './leases-client';
import { SnapshotsClient } from './snapshots-client';

/** Options of `exportContainer`. */
export interface ExportContainerOptions {
  signal?: AbortSignal;
}

/**
 * Writes a container's root filesystem (its snapshot as the container sees it, image layers
 * and the container's own changes merged) to `out` as an uncompressed tar, as `docker export`
 * does. Works on running and stopped containers.
 *
 * berthd does the walking: under a fresh lease, Diff with no left mounts and, as right, the
 * snapshot's mounts made read-only (`readOnlyView`, so that an overlay is read whole and not
 * only its upper directory) writes the tree as an `…layer.v1.tar` blob; the blob is streamed
 * out with Content.Read, then the lease is deleted and the blob is garbage. `out` is ended on
 * success. NotFound for an unknown container or a container without a snapshot.
 */
export async function exportContainer(conn: Connection, container: string | ContainerRecord, out: Writable, opts: ExportContainerOptions = {}): Promise<void> {
  const call = opts.signal ? { signal: opts.signal } : {};
  const c = typeof container === 'string' ? await new ContainersClient(conn).get(container, call) : container;
  const id = c.id;
  const leases = new LeasesClient(conn);
  const lease = await leases.create({ labels: expiringLeaseLabels(), ...call });
  const leased = conn.with({ lease: lease.id });
  try {
    const mounts = await new SnapshotsClient(leased, c.snapshotter || 'overlayfs').mounts(c.snapshotKey, call);
    const layer = await new DiffClient(leased).diff([], readOnlyView(mounts), { mediaType: MediaType.OciLayer, ref: `export-${id}-${Date.now()}`, ...call });
    const reader = await new ContentClient(leased).readerAt(layer, call);
    try {
      await pipeline(reader.createReadStream(call), out, call);
    } finally {
      await reader.close();
    }
  } finally {
    await leases.delete(lease.id).catch(() => {});
  }
}
