import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { llistxattr, lgetxattr } from '@berth/sys';
import type { ExpectedNode, ExpectedTree } from '@berth/testimages';

/** Test-only: one path of a tree on disk, in `ExpectedNode`'s terms (mtime left out). */
export type ActualNode = Omit<ExpectedNode, 'mtime'>;

// Kernel- and snapshotter-owned attributes, not part of the image.
const ownXattr = (name: string): boolean => name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.') || name.startsWith('security.');

async function sha256File(path: string): Promise<ExpectedNode['sha256']> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}` as ExpectedNode['sha256'];
}

/**
 * Test-only: the tree under `root` keyed by absolute path (`/etc/passwd`), sorted, root
 * excluded: type, permission bits, owner, size, content hash, link target, xattrs, and for hard
 * links the first path (sorted) sharing the inode.
 */
export async function readTree(root: string): Promise<Record<string, ActualNode>> {
  const out: Record<string, ActualNode> = {};
  const inodes = new Map<string, number>();
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full);
      const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
      if (!type) throw new Error(`${path}: unexpected file type ${st.mode.toString(8)}`);
      const node: ActualNode = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0 };
      if (type === 'file') {
        node.sha256 = await sha256File(full);
        if (st.nlink > 1) inodes.set(path, st.ino);
      }
      if (type === 'symlink') node.linkname = await readlink(full);
      const xattrs: Record<string, string> = {};
      for (const x of llistxattr(full).filter((n) => !ownXattr(n))) xattrs[x] = lgetxattr(full, x)?.toString('utf8') ?? '';
      if (Object.keys(xattrs).length > 0) node.xattrs = xattrs;
      out[path] = node;
      if (type === 'directory') await visit(path);
    }
  };
  await visit('');
  const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const firstOfInode = new Map<number, string>();
  for (const path of Object.keys(sorted)) {
    const ino = inodes.get(path);
    if (ino === undefined) continue;
    const first = firstOfInode.get(ino);
    if (first) sorted[path]!.hardlinkTo = first;
    else firstOfInode.set(ino, path);
  }
  return sorted;
}

/** Test-only: `expected` without mtimes, for comparing with `readTree`. */
export function withoutMtimes(expected: ExpectedTree): Record<string, ActualNode> {
  return Object.fromEntries(Object.entries(expected).map(([path, { mtime: _, ...rest }]) => [path, rest]));
}
