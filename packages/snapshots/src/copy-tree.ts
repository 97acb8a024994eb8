import { execFile } from 'node:child_process';
import { internal } from '@berth/errdefs';

/**
 * Copies the tree at `src` to `dst` (which must not exist), preserving everything a layer can
 * carry: file type, mode (setuid/setgid/sticky included), owner, mtimes, symlinks as symlinks,
 * hard links within the tree, device nodes and FIFOs, and extended attributes (security.*,
 * trusted.* — overlay's whiteouts and opaque markers —, user.*).
 *
 * Why GNU `cp -a --reflink=auto` rather than a walk in JS: `-a` is `-dR --preserve=all`, which
 * covers exactly that list (it recreates special files with mknod and preserves xattrs and
 * hard links, tracking inodes in one hash table, so it is linear in the tree's size); it runs
 * as one process in C, much faster than one async call per attribute per file; and
 * `--reflink=auto` clones file data on btrfs/XFS for free, falling back to a copy elsewhere.
 * The native snapshotter's tests check the list above on the real host. `-T` makes `dst` the
 * copy of `src` itself (its root dir's mode, owner and times included), not a child of it.
 */
export function copyTree(src: string, dst: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'cp',
      ['-a', '--reflink=auto', '-T', '--', src, dst],
      { signal, maxBuffer: 1 << 20 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        if (err.name === 'AbortError') return reject(err);
        reject(internal(`copy ${src} to ${dst}: ${String(stderr).trim() || err.message}`, { cause: err }));
      },
    );
  });
}
