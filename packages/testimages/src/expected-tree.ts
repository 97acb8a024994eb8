import { posix } from 'node:path';
import type { Digest } from '@berth/spec';
import { digestContent } from './content';
import { imageDefinition } from './definitions';
import { FIXED_MTIME, sortEntries } from './tar-writer';
import type { ImageName, LayerDefinition, LayerEntry } from './types';

/**
 * One path of an unpacked image. `mode` is permission bits only (with setuid/setgid/sticky).
 * `size` and `sha256` describe file content; `size` is 0 for directories and symlinks. `mtime`
 * is the seconds value from the tar header that produced the path (for hard links, the target's).
 * `hardlinkTo` marks a file sharing its inode with another path: the first path, in sorted
 * order, of the group of paths that share it; the first path itself has no `hardlinkTo`.
 */
export interface ExpectedNode {
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  sha256?: Digest;
  linkname?: string;
  hardlinkTo?: string;
  xattrs?: Record<string, string>;
}

/** An unpacked image's tree: absolute path (`/bin/sh`) → node, keys in sorted order, root excluded. */
export type ExpectedTree = Record<string, ExpectedNode>;

/**
 * The tree that unpacking test image `name` must produce, computed from the same layer
 * definitions the image is built from. See `applyLayers` for the rules.
 */
export async function expectedTree(name: ImageName): Promise<ExpectedTree> {
  return applyLayers((await imageDefinition(name)).layers);
}

// A file's inode: what hard links share.
interface Inode {
  entry: LayerEntry;
  sha256: Digest;
}

type Node = { type: 'file'; inode: Inode } | { type: 'directory' | 'symlink'; entry: LayerEntry };

/**
 * Applies `layers` in order with OCI layer semantics: `.wh.<name>` removes `<name>` (and its
 * subtree) from lower layers; `.wh..wh..opq` empties its directory of everything lower layers put
 * there, keeping this layer's entries; a directory over a directory updates its metadata and
 * keeps its children; any other entry replaces what was at its path, subtree included; a hard
 * link shares its target's inode. Throws when a layer is inconsistent: a missing parent
 * directory, a whiteout of a path that does not exist, a hard link to a non-file.
 */
export async function applyLayers(layers: readonly LayerDefinition[]): Promise<ExpectedTree> {
  const tree = new Map<string, Node>();
  const removeSubtree = (path: string): void => {
    for (const key of [...tree.keys()]) if (key === path || key.startsWith(`${path}/`)) tree.delete(key);
  };
  for (const [index, layer] of layers.entries()) {
    const where = `layer ${index + 1}`;
    const added = new Set<string>();
    for (const entry of sortEntries(layer.entries)) {
      const parent = posix.dirname(entry.path);
      const base = posix.basename(entry.path);
      if (parent !== '.' && tree.get(parent)?.type !== 'directory') {
        throw new Error(`${where}: ${entry.path}: parent ${parent} is not a directory`);
      }
      if (base === '.wh..wh..opq') {
        for (const key of [...tree.keys()]) if (key.startsWith(`${parent}/`) && !added.has(key)) tree.delete(key);
        continue;
      }
      if (base.startsWith('.wh.')) {
        const target = posix.join(parent, base.slice('.wh.'.length));
        if (!tree.has(target)) throw new Error(`${where}: whiteout ${entry.path} of missing ${target}`);
        removeSubtree(target);
        continue;
      }
      const existing = tree.get(entry.path);
      added.add(entry.path);
      if (entry.type === 'directory' && existing?.type === 'directory') {
        existing.entry = entry;
        continue;
      }
      if (existing) removeSubtree(entry.path);
      tree.set(entry.path, await toNode(entry, tree, where));
    }
  }
  return render(tree);
}

async function toNode(entry: LayerEntry, tree: ReadonlyMap<string, Node>, where: string): Promise<Node> {
  switch (entry.type) {
    case 'file':
      return { type: 'file', inode: { entry, sha256: await digestContent(entry.content!) } };
    case 'hardlink': {
      const target = tree.get(entry.linkname!);
      if (target?.type !== 'file') throw new Error(`${where}: hard link ${entry.path} to ${entry.linkname}, not a file`);
      return { type: 'file', inode: target.inode };
    }
    default:
      return { type: entry.type, entry };
  }
}

function render(tree: ReadonlyMap<string, Node>): ExpectedTree {
  const out: ExpectedTree = {};
  const firstPathOf = new Map<Inode, string>();
  for (const path of [...tree.keys()].sort()) {
    const node = tree.get(path)!;
    const entry = node.type === 'file' ? node.inode.entry : node.entry;
    const rendered: ExpectedNode = {
      type: node.type,
      mode: entry.mode,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: entry.mtime ?? FIXED_MTIME,
      size: node.type === 'file' ? entry.content!.size : 0,
    };
    if (node.type === 'file') {
      rendered.sha256 = node.inode.sha256;
      const first = firstPathOf.get(node.inode);
      if (first) rendered.hardlinkTo = first;
      else firstPathOf.set(node.inode, `/${path}`);
    }
    if (node.type === 'symlink') rendered.linkname = entry.linkname!;
    if (entry.xattrs && Object.keys(entry.xattrs).length > 0) rendered.xattrs = { ...entry.xattrs };
    out[`/${path}`] = rendered;
  }
  return out;
}
