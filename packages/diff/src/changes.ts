import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { isWhiteoutDevice, lgetxattr, llistxattr, major, minor, opaqueXattr } from './sys';
import type { WriteEntry } from './tar-writer';

/**
 * The changes between two trees, as the ordered tar entries of a layer (parents before
 * children, names sorted by code unit within a directory, so the same trees give the same
 * layer). Two sources:
 * - `overlayUpperChanges(upper)`: an overlay upper directory *is* the change set; char devices
 *   0/0 become `.wh.<name>`, a `trusted.overlay.opaque=y` directory gets `.wh..wh..opq`;
 * - `doubleWalkChanges(lower, upper)`: both trees walked side by side. A name only in lower is
 *   a whiteout; only in upper, an addition (with its subtree); in both, a change when type,
 *   mode, owner, device, link target or xattrs differ, or for files when sizes differ or, with
 *   equal sizes and different mtimes, the contents differ. A directory is written when its own
 *   metadata (mtime included) changed or anything below it did.
 *
 * Files sharing an inode become one file and hard links to it (`link` entries naming the first).
 */

/** A change: the tar entry, plus the file to read its body from (regular files). */
export interface Change {
  entry: WriteEntry;
  source?: string;
}

export function* overlayUpperChanges(upper: string): Generator<Change> {
  const links = new Map<string, string>();
  function* walk(dir: string, rel: string): Generator<Change> {
    for (const name of sortedNames(dir)) {
      const path = `${dir}/${name}`;
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(path);
      if (isWhiteoutDevice(st)) {
        yield { entry: whiteout(rel, `.wh.${name}`, st) };
        continue;
      }
      yield toChange(path, relPath, st, links);
      if (st.isDirectory()) {
        if (lgetxattr(path, opaqueXattr)?.toString() === 'y') yield { entry: whiteout(relPath, '.wh..wh..opq', st) };
        yield* walk(path, relPath);
      }
    }
  }
  yield* walk(upper, '');
}

export function* doubleWalkChanges(lower: string | undefined, upper: string): Generator<Change> {
  const links = new Map<string, string>();
  // Returns the changes of directory `rel` (its own entry excluded).
  function walk(lowerDir: string | undefined, upperDir: string, rel: string): Change[] {
    const out: Change[] = [];
    const upperNames = sortedNames(upperDir);
    const lowerNames = lowerDir ? new Set(readdirSync(lowerDir)) : new Set<string>();
    const names = [...new Set([...upperNames, ...lowerNames])].sort(byCodeUnit);
    const upperSet = new Set(upperNames);
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const upperPath = `${upperDir}/${name}`;
      const lowerPath = lowerDir && lowerNames.has(name) ? `${lowerDir}/${name}` : undefined;
      if (!upperSet.has(name)) {
        out.push({ entry: whiteout(rel, `.wh.${name}`, lstatSync(upperDir)) });
        continue;
      }
      const us = lstatSync(upperPath);
      const ls = lowerPath ? lstatSync(lowerPath) : undefined;
      if (us.isDirectory()) {
        const below = walk(ls?.isDirectory() ? lowerPath : undefined, upperPath, relPath);
        if (below.length > 0 || !ls || !sameMeta(ls, us, lowerPath!, upperPath) || ls.mtimeMs !== us.mtimeMs) {
          out.push(toChange(upperPath, relPath, us, links), ...below);
        }
        continue;
      }
      if (!ls || !sameFile(ls, us, lowerPath!, upperPath)) out.push(toChange(upperPath, relPath, us, links));
    }
    return out;
  }
  yield* walk(lower, upper, '');
}

function toChange(path: string, rel: string, st: Stats, links: Map<string, string>): Change {
  const base = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), size: 0, xattrs: xattrsOf(path) };
  if (st.isFile()) {
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) return { entry: { ...base, type: 'link', linkname: first } };
      links.set(key, rel);
    }
    return { entry: { ...base, type: 'file', size: st.size }, source: path };
  }
  if (st.isDirectory()) return { entry: { ...base, type: 'directory' } };
  if (st.isSymbolicLink()) return { entry: { ...base, type: 'symlink', linkname: readlinkSync(path, 'utf8') } };
  if (st.isFIFO()) return { entry: { ...base, type: 'fifo' } };
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return { entry: { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) } };
  }
  throw new Error(`diff: ${rel}: sockets cannot be stored in a layer`);
}

function whiteout(dirRel: string, name: string, st: Stats): WriteEntry {
  return { name: dirRel === '' ? name : `${dirRel}/${name}`, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: Math.floor(st.mtimeMs / 1000), size: 0 };
}

/** xattrs worth carrying (overlay's own `trusted.overlay.*` never are). */
function xattrsOf(path: string): Map<string, Buffer> | undefined {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch {
    return undefined;
  }
  const out = new Map<string, Buffer>();
  for (const n of names) {
    if (n.startsWith('trusted.overlay.')) continue;
    const v = lgetxattr(path, n);
    if (v) out.set(n, v);
  }
  return out.size > 0 ? out : undefined;
}

function sameMeta(a: Stats, b: Stats, aPath: string, bPath: string): boolean {
  if ((a.mode & 0o177777) !== (b.mode & 0o177777) || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return false;
  const ax = xattrsOf(aPath);
  const bx = xattrsOf(bPath);
  if ((ax?.size ?? 0) !== (bx?.size ?? 0)) return false;
  for (const [k, v] of ax ?? []) if (!bx?.get(k)?.equals(v)) return false;
  return true;
}

function sameFile(a: Stats, b: Stats, aPath: string, bPath: string): boolean {
  if (!sameMeta(a, b, aPath, bPath)) return false;
  if (a.isSymbolicLink()) return readlinkSync(aPath) === readlinkSync(bPath);
  if (!a.isFile()) return true;
  if (a.size !== b.size) return false;
  if (a.mtimeMs === b.mtimeMs) return true;
  return sameContent(aPath, bPath, a.size);
}

// Synchronous on purpose: called from the generator, one file at a time, in large blocks.
function sameContent(aPath: string, bPath: string, size: number): boolean {
  const block = 1 << 20;
  const ab = Buffer.alloc(Math.min(block, size));
  const bb = Buffer.alloc(Math.min(block, size));
  const af = openSync(aPath, 'r');
  const bf = openSync(bPath, 'r');
  try {
    for (let at = 0; at < size; at += block) {
      const n = readSync(af, ab, 0, ab.length, at);
      const m = readSync(bf, bb, 0, bb.length, at);
      if (n !== m || !ab.subarray(0, n).equals(bb.subarray(0, m))) return false;
    }
    return true;
  } finally {
    closeSync(af);
    closeSync(bf);
  }
}

/** Reads a file body of exactly `size` bytes in large chunks. */
export async function* fileBody(path: string, size: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    let at = 0;
    while (at < size) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, size - at));
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) throw new Error(`diff: ${path}: file shrank while being read`);
      at += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort(byCodeUnit);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
