import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, chmodSync, lchownSync, linkSync, lstatSync, lutimesSync,
  mkdirSync, openSync, readdirSync, rmSync, symlinkSync, writeSync, type Stats,
} from 'node:fs';
import { invalidArgument } from '@berth/errdefs';
import { entryComponents, lstatOrUndefined, RootResolver } from './root-path';
import { isXattrUnsupported, lsetxattr, makedev, mknod, opaqueXattr } from './sys';
import type { TarEntry } from './tar-reader';

/**
 * Writes tar entries into an extraction root, in one of two modes:
 * - plain (`lowers` empty): the root is the whole filesystem; whiteouts delete for real and an
 *   opaque marker prunes everything in its directory that this layer did not add;
 * - overlay upper (`lowers` given, top first): the root is the upper directory; whiteouts become
 *   char devices 0/0 and opaque markers the `trusted.overlay.opaque=y` xattr; lowers are only
 *   read (see `RootResolver`).
 *
 * Metadata order per entry: create, lchown, chmod (chown clears setuid/setgid), xattrs (chown
 * also clears `security.capability`), times. Directory times are set in `finish()`, after
 * everything inside them was written; a directory this layer modifies without an entry of its
 * own gets its previous times back. File system calls are synchronous: they are short, and a
 * promise round trip per call would dominate the cost of small entries.
 *
 * Errors: InvalidArgument for hostile or inconsistent entries (naming the entry); system errors
 * pass through. The first error ends the apply; the caller discards the half-written root.
 */
export class Extractor {
  private readonly resolver: RootResolver;
  private readonly overlay: boolean;
  /** Directory → times to set at the end (its header's, or the ones it had before we touched it). */
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();
  /** Paths this layer wrote (plain mode: what an opaque marker keeps). */
  private readonly added = new Set<string>();

  constructor(readonly root: string, lowers: readonly string[] = []) {
    this.overlay = lowers.length > 0;
    this.resolver = new RootResolver(root, lowers, (rel, from) => {
      if (from) this.dirTimes.set(rel, { atime: from.atimeMs / 1000, mtime: from.mtimeMs / 1000 });
    });
  }

  /** Applies one entry; its body is consumed here when it is a regular file. */
  async entry(e: TarEntry): Promise<void> {
    const components = entryComponents(e.name);
    if (components.length === 0) return this.rootEntry(e);
    const base = components[components.length - 1]!;
    const parentComponents = components.slice(0, -1);
    if (base.startsWith('.wh.')) return this.whiteoutEntry(e, parentComponents, base);

    const parent = this.resolver.resolveDir(e.name, parentComponents, true)!;
    const rel = parent === '' ? base : `${parent}/${base}`;
    const path = this.resolver.abs(rel);
    this.touch(parent);
    this.added.add(rel);
    switch (e.type) {
      case 'file':
      case 'contiguous-file':
        return this.writeFile(e, rel, path);
      case 'directory':
        return this.directory(e, rel, path);
      case 'symlink':
        if (e.linkname === '' || e.linkname.includes('\0')) throw invalidArgument(`layer entry "${e.name}": empty symlink target`);
        this.create(rel, path, () => symlinkSync(e.linkname, path));
        lchownSync(path, e.uid, e.gid);
        this.xattrs(e, path, true);
        lutimesSync(path, e.mtime, e.mtime);
        return;
      case 'link':
        return this.hardLink(e, rel, path);
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const type = e.type === 'fifo' ? constants.S_IFIFO : e.type === 'block-device' ? constants.S_IFBLK : constants.S_IFCHR;
        const dev = e.type === 'fifo' ? 0 : makedev(e.devmajor, e.devminor);
        this.create(rel, path, () => mknod(path, type | (e.mode & 0o777), dev));
        return this.metadata(e, path);
      }
      default:
        throw invalidArgument(`layer entry "${e.name}": unsupported tar entry type ${String(e.type)}`);
    }
  }

  /** Sets the recorded directory times. Call once, after the last entry. */
  finish(): void {
    for (const [rel, t] of this.dirTimes) {
      try {
        lutimesSync(this.resolver.abs(rel), t.atime, t.mtime);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  private async writeFile(e: TarEntry, rel: string, path: string): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    let fd = -1;
    this.create(rel, path, () => (fd = openSync(path, flags, 0o600)));
    try {
      for await (const chunk of e.body) {
        for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off);
      }
      fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode);
      this.xattrs(e, path, false);
      futimesSync(fd, e.mtime, e.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private directory(e: TarEntry, rel: string, path: string): void {
    let created = false;
    const existing = lstatOrUndefined(path);
    if (existing?.isDirectory()) {
      // A directory over a directory keeps the contents and takes the new metadata. In overlay
      // mode an upper whiteout device is not a directory and is replaced below.
    } else {
      if (existing) this.remove(rel, path, existing);
      mkdirSync(path, 0o700);
      created = true;
    }
    if (created && existing && this.overlay) {
      // Replacing an upper whiteout: the lower directory of that name was deleted.
      lsetxattr(path, opaqueXattr, 'y');
    }
    this.metadata(e, path, false);
    this.dirTimes.set(rel, { atime: e.mtime, mtime: e.mtime });
  }

  private hardLink(e: TarEntry, rel: string, path: string): void {
    const targetComponents = entryComponents(e.linkname, `layer entry "${e.name}": hard link target`);
    if (targetComponents.length === 0) throw invalidArgument(`layer entry "${e.name}": hard link to the root`);
    const targetParent = this.resolver.resolveDir(e.name, targetComponents.slice(0, -1), false);
    const targetBase = targetComponents[targetComponents.length - 1]!;
    const targetPath = targetParent === undefined ? undefined : this.resolver.abs(targetParent === '' ? targetBase : `${targetParent}/${targetBase}`);
    const target = targetPath === undefined ? undefined : lstatOrUndefined(targetPath);
    if (!target || target.isDirectory()) {
      throw invalidArgument(`layer entry "${e.name}": hard link target "${e.linkname}" is missing or a directory`);
    }
    const existing = lstatOrUndefined(path);
    if (existing && existing.ino === target.ino && existing.dev === target.dev) return;
    this.create(rel, path, () => linkSync(targetPath!, path));
  }

  private rootEntry(e: TarEntry): void {
    if (e.type !== 'directory') throw invalidArgument(`layer entry "${e.name}": the root must be a directory`);
    this.metadata(e, this.root, false);
    this.dirTimes.set('', { atime: e.mtime, mtime: e.mtime });
  }

  private whiteoutEntry(e: TarEntry, parentComponents: string[], base: string): void {
    if (base === '.wh..wh..opq') return this.opaque(e, parentComponents);
    // Other `.wh..wh.` names are aufs bookkeeping (hard link dirs); they carry nothing to apply.
    if (base.startsWith('.wh..wh.')) return;
    const name = base.slice('.wh.'.length);
    if (name === '' || name === '.' || name === '..') throw invalidArgument(`layer entry "${e.name}": whiteout of an invalid name`);
    const parent = this.resolver.resolveDir(e.name, parentComponents, false);
    if (parent === undefined) return;
    const rel = parent === '' ? name : `${parent}/${name}`;
    const path = this.resolver.abs(rel);
    this.touch(parent);
    const existing = lstatOrUndefined(path);
    if (existing) this.remove(rel, path, existing);
    if (this.overlay) {
      mknod(path, constants.S_IFCHR, 0);
      chmodSync(path, 0);
    }
  }

  private opaque(e: TarEntry, dirComponents: string[]): void {
    const dir = this.resolver.resolveDir(e.name, dirComponents, this.overlay);
    if (dir === undefined) return;
    if (this.overlay) {
      lsetxattr(this.resolver.abs(dir), opaqueXattr, 'y');
      this.resolver.setOpaque(dir);
      return;
    }
    this.prune(dir);
  }

  // Removes from directory `dir` everything this layer did not add, recursively.
  private prune(dir: string): void {
    const abs = this.resolver.abs(dir);
    for (const d of readdirSync(abs, { withFileTypes: true })) {
      const rel = dir === '' ? d.name : `${dir}/${d.name}`;
      if (this.added.has(rel)) {
        if (d.isDirectory()) this.prune(rel);
        continue;
      }
      this.touch(dir);
      this.remove(rel, `${abs}/${d.name}`, undefined);
    }
  }

  // Runs `make`; when the name exists, removes what is there (never following it) and retries.
  private create(rel: string, path: string, make: () => unknown): void {
    try {
      make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.remove(rel, path, undefined);
      make();
    }
  }

  private remove(rel: string, path: string, st: Stats | undefined): void {
    const isDir = (st ?? lstatSync(path)).isDirectory();
    if (isDir) {
      rmSync(path, { recursive: true, force: true });
      this.resolver.forget(rel);
      const prefix = `${rel}/`;
      this.dirTimes.delete(rel);
      for (const key of this.dirTimes.keys()) if (key.startsWith(prefix)) this.dirTimes.delete(key);
    } else {
      rmSync(path, { force: true });
    }
  }

  // Records a directory's current times before its contents change, to restore them at the end.
  private touch(rel: string): void {
    if (this.dirTimes.has(rel)) return;
    const st = lstatSync(this.resolver.abs(rel));
    this.dirTimes.set(rel, { atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
  }

  private metadata(e: TarEntry, path: string, times = true): void {
    lchownSync(path, e.uid, e.gid);
    chmodSync(path, e.mode);
    this.xattrs(e, path, false);
    if (times) lutimesSync(path, e.mtime, e.mtime);
  }

  private xattrs(e: TarEntry, path: string, symlink: boolean): void {
    for (const [name, value] of e.xattrs) {
      try {
        lsetxattr(path, name, value);
      } catch (err) {
        const code = (err as { code?: string }).code;
        // user.* xattrs are not allowed on symlinks; file systems without xattrs are tolerated
        // as containerd does.
        if (isXattrUnsupported(code) || (symlink && code === 'EPERM')) continue;
        throw err;
      }
    }
  }
}
