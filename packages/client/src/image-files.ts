import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from './connection';
import { LeasesClient } from './leases-client';
import { SnapshotsClient } from './snapshots-client';
import { lazy, randomHex } from './lazy-node';

/**
 * Reads small files (e.g. /etc/passwd, /etc/group) from a committed snapshot, as ctr does to
 * resolve a user: a View on it, mounted read-only in a temp dir (mount(8); root only), read,
 * unmounted, the view removed. A missing file reads as ''.
 */
export async function readSnapshotFiles(conn: Connection, snapshotter: string, parent: string, files: string[]): Promise<string[]> {
  // The view is held by a lease of its own: nothing references it, and a collection running
  // meanwhile would otherwise remove it under the mount.
  const leases = new LeasesClient(conn);
  const lease = await leases.create({ labels: { 'containerd.io/gc.expire': new Date(Date.now() + 600_000).toISOString() } });
  try {
    return await readWithLease(conn.with({ lease: lease.id }), snapshotter, parent, files);
  } finally {
    await leases.delete(lease.id).catch(() => {});
  }
}

async function readWithLease(conn: Connection, snapshotter: string, parent: string, files: string[]): Promise<string[]> {
  const snapshots = new SnapshotsClient(conn, snapshotter);
  const key = `berth-view-${randomHex(8)}`;
  const mounts = await snapshots.view(key, parent);
  const dir = mkdtempSync(join(tmpdir(), 'berth-rootfs-'));
  let mounted = 0;
  try {
    for (const m of mounts) {
      const target = m.target ? join(dir, m.target) : dir;
      const options = m.type === 'bind' ? [...m.options.filter((o) => o !== 'rw'), 'ro'] : m.options;
      lazy.childProcess.execFileSync('mount', ['-t', m.type, ...(options.length ? ['-o', options.join(',')] : []), m.source, target], { stdio: ['ignore', 'ignore', 'pipe'] });
      mounted++;
    }
    return files.map((f) => {
      try {
        return readFileSync(join(dir, f), 'utf8');
      } catch {
        return '';
      }
    });
  } finally {
    for (let i = 0; i < mounted; i++) lazy.childProcess.execFileSync('umount', [dir], { stdio: 'ignore' });
    rmdirSync(dir);
    await snapshots.remove(key).catch(() => {});
  }
}
