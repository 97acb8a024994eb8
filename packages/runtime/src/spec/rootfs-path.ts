import { readlink } from 'node:fs/promises';
import { posix } from 'node:path';

const MAX_LINKS = 40;

/**
 * The host path of `path` inside the rootfs at `root`, following symlinks as if `root` were `/`:
 * absolute link targets and `..` never climb out of `root`. The final path may not exist.
 * Throws (ELOOP-like) after 40 links.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    let target: string | undefined;
    try {
      target = await readlink(host);
    } catch {
      target = undefined; // not a symlink, or absent: take the name as is
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`resolve ${path} in ${root}: too many levels of symbolic links`);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...done);
}
