import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Usage } from './types';

/**
 * The disk used by the tree at `dir`, as containerd's `fs.DiskUsage` counts it: every distinct
 * inode (by device and inode number, so hard links count once, the root included) adds one to
 * `inodes` and its allocated blocks (`st_blocks * 512`) to `size`. Sparse files count what they
 * allocate, not their length. Entries that vanish during the walk are skipped.
 *
 * Iterative with an explicit stack: deep trees do not grow the JS stack, and each directory is
 * read once, so the cost is linear in the number of entries.
 */
export async function diskUsage(dir: string, signal?: AbortSignal): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  const stack = [dir];
  for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
    signal?.throwIfAborted();
    const st = await lstat(path, { bigint: true }).catch(ignoreENOENT);
    if (!st) continue;
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) {
      const names = await readdir(path).catch(ignoreENOENT);
      for (const name of names ?? []) stack.push(join(path, name));
    }
  }
  return { size, inodes: seen.size };
}

function ignoreENOENT(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined;
  throw err;
}
