import { lstatSync, mkdirSync, readlinkSync, unlinkSync, lchownSync, chmodSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument } from '@berth/errdefs';
import { isWhiteoutDevice, lgetxattr, lsetxattr, opaqueXattr } from './sys';

/**
 * Path resolution inside an extraction root. THE RULE (for every entry, whiteout and hard link
 * target of a layer):
 *
 * 1. The name is normalised lexically (`posix.normalize`, `./` and trailing `/` dropped). A name
 *    that is then absolute (`/etc/passwd`), climbs above the root (`..`, `a/../../x`), is empty,
 *    or holds a NUL byte is refused with InvalidArgument. We do not strip leading `/` as
 *    some tar tools do: a layer built by a well-behaved tool never needs it.
 * 2. The parent components are walked one by one with lstat. A component that is a symlink is
 *    followed *within the root*, as containerd's `fs.RootPath` (securejoin) does: an absolute
 *    target restarts at the root, `..` stops at the root, at most 40 links per name (else
 *    InvalidArgument). So `evil -> /` then `evil/etc/passwd` writes `<root>/etc/passwd`, and
 *    `evil -> ../..` then `evil/x` writes `<root>/x`: re-rooted, never outside. A component that
 *    exists and is neither a directory nor a symlink is InvalidArgument.
 * 3. The final component is never followed: whatever is there (a symlink included) is removed
 *    and replaced (unlink, then create with O_EXCL|O_NOFOLLOW), so a write lands on the name
 *    itself, inside the resolved parent.
 *
 * With lower directories (overlay upper mode), the walk sees the merged view: a component absent
 * from the upper directory is looked up in the lowers (top first, honouring whiteouts and opaque
 * directories); a lower symlink is followed (same rule), a lower directory is copied up (created
 * in the upper directory with the lower one's mode, owner and times) when asked to.
 *
 * Resolved directories are cached (canonical path → the lowers it merges with), so an entry
 * whose parent was seen costs no lstat; `forget()` drops a path and its subtree when it is
 * removed or replaced. The layer is the only writer during an apply, so checks and uses do not
 * race (the snapshot is private to the applier).
 */

/** Max symlinks followed while resolving one name (Linux's MAXSYMLINKS). */
const maxLinks = 40;

/** Normalises a layer name to components (empty for the root). See rule 1. */
export function entryComponents(entryName: string, what = 'layer entry'): string[] {
  if (entryName === '' || entryName.includes('\0')) throw invalidArgument(`${what} "${entryName.replace(/\0/g, '\\0')}": empty name or NUL byte`);
  const normal = posix.normalize(entryName);
  if (normal.startsWith('/')) throw invalidArgument(`${what} "${entryName}": absolute path`);
  if (normal === '..' || normal.startsWith('../')) throw invalidArgument(`${what} "${entryName}": path escapes the root`);
  return normal.split('/').filter((c) => c !== '' && c !== '.');
}

/** Called when the resolver creates a directory: `from` is the lower it copied up, if any. */
export type DirCreated = (rel: string, from: Stats | undefined) => void;

export class RootResolver {
  /** Canonical rel path ('' = root) → indices of the lowers merged into it. */
  private readonly dirs = new Map<string, number[]>();

  constructor(
    readonly root: string,
    readonly lowers: readonly string[],
    private readonly onCreated: DirCreated,
  ) {
    this.dirs.set('', lowers.map((_, i) => i));
  }

  /** `<root>/<rel>`. */
  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /**
   * Resolves `components` (already normalised) to the canonical relative path of a real
   * directory in the root. Missing directories are created (mode 0755, root-owned) when `create`,
   * else the result is undefined. Lower-only directories are always copied up.
   */
  resolveDir(entryName: string, components: readonly string[], create: boolean): string | undefined {
    const direct = components.join('/');
    if (this.dirs.has(direct)) return direct;
    const out: string[] = [];
    const visible: number[][] = [this.dirs.get('')!];
    const queue = [...components];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (out.length > 0) {
          out.pop();
          visible.pop();
        }
        continue;
      }
      const rel = out.length > 0 ? `${out.join('/')}/${c}` : c;
      const cached = this.dirs.get(rel);
      if (cached) {
        out.push(c);
        visible.push(cached);
        continue;
      }
      const found = this.lookup(rel, visible[visible.length - 1]!);
      if (found !== 'whiteout' && found?.st.isSymbolicLink()) {
        if (++links > maxLinks) throw invalidArgument(`layer entry "${entryName}": too many levels of symbolic links`);
        const target = readlinkSync(found.path, 'utf8');
        if (target.startsWith('/')) {
          out.length = 0;
          visible.length = 1;
        }
        queue.unshift(...target.split('/'));
        continue;
      }
      if (found !== 'whiteout' && found && !found.st.isDirectory()) {
        throw invalidArgument(`layer entry "${entryName}": parent "${rel}" is not a directory`);
      }
      let merged: number[];
      if (found === 'whiteout') {
        // This layer deleted the name earlier; a directory there now starts empty (opaque).
        if (!create) return undefined;
        unlinkSync(this.abs(rel));
        this.mkdir(rel, undefined);
        lsetxattr(this.abs(rel), opaqueXattr, 'y');
        merged = [];
      } else if (found && found.lower === undefined) {
        merged = this.lowers.length > 0 && this.isOpaque(found.path) ? [] : this.mergeFrom(rel, visible[visible.length - 1]!, 0);
      } else if (found) {
        this.mkdir(rel, found.st);
        merged = this.mergeFrom(rel, visible[visible.length - 1]!, found.lower!);
      } else {
        if (!create) return undefined;
        this.mkdir(rel, undefined);
        merged = [];
      }
      this.dirs.set(rel, merged);
      out.push(c);
      visible.push(merged);
    }
    return out.join('/');
  }

  /** Drops `rel` and everything under it from the cache (it was removed or replaced). */
  forget(rel: string): void {
    if (rel === '' || !this.dirs.delete(rel)) return;
    const prefix = `${rel}/`;
    for (const key of this.dirs.keys()) if (key.startsWith(prefix)) this.dirs.delete(key);
  }

  /** Marks `rel` (a directory just made opaque) as merging no lower. */
  setOpaque(rel: string): void {
    this.forget(rel);
    this.dirs.set(rel, []);
  }

  // The merged view of `rel` whose parent merges `visible`: the upper (root) first, then lowers.
  private lookup(rel: string, visible: readonly number[]): { st: Stats; path: string; lower?: number } | 'whiteout' | undefined {
    const path = this.abs(rel);
    const st = lstatOrUndefined(path);
    if (st) return this.lowers.length > 0 && isWhiteoutDevice(st) ? 'whiteout' : { st, path };
    for (const i of visible) {
      const lowerPath = `${this.lowers[i]}/${rel}`;
      const lst = lstatOrUndefined(lowerPath);
      if (!lst) continue;
      if (isWhiteoutDevice(lst)) return undefined;
      return { st: lst, path: lowerPath, lower: i };
    }
    return undefined;
  }

  // Lowers (from position `start` of `visible`'s order) merged into directory `rel`.
  private mergeFrom(rel: string, visible: readonly number[], fromLower: number): number[] {
    const merged: number[] = [];
    for (const i of visible) {
      if (i < fromLower) continue;
      const path = `${this.lowers[i]}/${rel}`;
      const st = lstatOrUndefined(path);
      if (!st) continue;
      if (!st.isDirectory()) break;
      merged.push(i);
      if (this.isOpaque(path)) break;
    }
    return merged;
  }

  private isOpaque(path: string): boolean {
    return lgetxattr(path, opaqueXattr)?.toString() === 'y';
  }

  private mkdir(rel: string, from: Stats | undefined): void {
    const path = this.abs(rel);
    mkdirSync(path, from ? from.mode & 0o7777 : 0o755);
    if (from) {
      lchownSync(path, from.uid, from.gid);
      chmodSync(path, from.mode & 0o7777);
    }
    this.onCreated(rel, from);
  }
}

/** lstat, or undefined when the path does not exist (ENOENT, ENOTDIR). */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}
