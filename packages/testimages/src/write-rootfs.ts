import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { imageDefinition } from './definitions';
import { expectedTree } from './expected-tree';
import type { Content, ImageName } from './types';

/**
 * Materialises test image `name` into the directory `dir` (created if missing; expected empty),
 * exactly as `expectedTree(name)` describes it: directories, files with their content, symlinks,
 * hard links, modes (setuid/setgid/sticky included), owners and mtimes. Extended attributes are
 * not written. Owners need root (or the test's own uid); run as root for a faithful tree.
 *
 * Contract: on success `dir` holds the tree `expectedTree(name)` describes (without xattrs);
 * on failure `dir` may hold a partial tree the caller removes.
 */
export async function writeRootfs(name: ImageName, dir: string): Promise<void> {
  const tree = await expectedTree(name);
  const contents = await contentByPath(name);
  await mkdir(dir, { recursive: true });
  const paths = Object.keys(tree); // sorted: parents before children
  for (const path of paths) {
    const node = tree[path]!;
    const target = join(dir, path);
    if (node.type === 'directory') await mkdir(target);
    else if (node.type === 'symlink') await symlink(node.linkname!, target);
    else if (node.hardlinkTo) await link(join(dir, node.hardlinkTo), target);
    else {
      const content = contents.get(path);
      if (!content) throw new Error(`writeRootfs ${name}: no content for ${path}`);
      await pipeline(Readable.from(content.chunks()), createWriteStream(target, { mode: 0o600 }));
    }
  }
  // Owners before modes (chown clears setuid/setgid); mtimes last, children before parents,
  // since creating a child changes its directory's mtime.
  for (const path of paths) {
    const node = tree[path]!;
    const target = join(dir, path);
    await lchown(target, node.uid, node.gid);
    if (node.type !== 'symlink') await chmod(target, node.mode);
  }
  for (const path of [...paths].reverse()) {
    const node = tree[path]!;
    const target = join(dir, path);
    if (node.type === 'symlink') await lutimes(target, node.mtime, node.mtime);
    else await utimes(target, node.mtime, node.mtime);
  }
}

// The content of every regular file the image ends with, by absolute path: the last layer's entry
// wins; a hard link entry carries its target's content.
async function contentByPath(name: ImageName): Promise<Map<string, Content>> {
  const out = new Map<string, Content>();
  for (const layer of (await imageDefinition(name)).layers) {
    for (const entry of layer.entries) {
      if (entry.type === 'file' && entry.content) out.set(`/${entry.path}`, entry.content);
      else if (entry.type === 'hardlink') {
        const content = out.get(`/${entry.linkname}`);
        if (content) out.set(`/${entry.path}`, content);
      }
    }
  }
  return out;
}
