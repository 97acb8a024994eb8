import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument } from '@berth/errdefs';
import { parseMountOptions, parseOverlayOptions } from './mount-options';
import { MountFlags, UnmountFlags, sys } from './sys';
import type { Mount } from './types';

/**
 * Mounts `mounts` at `target`, in order (each one on top of the previous, or at its `target`
 * sub-path). Types:
 * - `bind` (options `bind` or `rbind`): a bind mount; with `ro` it is bound first and then
 *   remounted read-only, since the kernel ignores MS_RDONLY on the initial bind.
 * - `overlay`: `lowerdir=` (top first), `upperdir=`, `workdir=` go to `@berth/sys`'s
 *   `mountOverlay`, which takes any number of lower dirs (no one-page option limit); the
 *   other options (`index=off`, `userxattr`, …) are passed through.
 * - anything else (`tmpfs`, `proc`, …): mount(2) with the parsed flags and the rest as data.
 * Propagation options (`rprivate`, …) are applied after the mount. If one mount fails, the
 * ones already made are unmounted before the error is thrown. No `mount` binary is spawned.
 */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  const done: string[] = [];
  try {
    for (const m of mounts) {
      const dest = subTarget(target, m.target);
      mountOne(m, dest);
      done.push(dest);
    }
  } catch (err) {
    for (const dest of done.reverse()) await unmountOnce(dest).catch(() => {});
    throw err;
  }
}

function subTarget(target: string, sub: string | undefined): string {
  if (sub === undefined || sub === '' || sub === '/') return target;
  const dest = resolve(target, sub.replace(/^\/+/, ''));
  const rel = relative(target, dest);
  if (rel.startsWith('..') || isAbsolute(rel)) throw invalidArgument(`mount target "${sub}": outside "${target}"`);
  return dest;
}

function mountOne(m: Mount, dest: string): void {
  const { flags, propagation, data } = parseMountOptions(m.options);
  if (m.type === 'overlay') {
    const o = parseOverlayOptions(data);
    if (o.lowerdirs.length === 0) throw invalidArgument(`overlay mount at "${dest}": no lowerdir`);
    if ((o.upperdir === undefined) !== (o.workdir === undefined)) {
      throw invalidArgument(`overlay mount at "${dest}": upperdir and workdir go together`);
    }
    const spec: Parameters<typeof sys.mountOverlay>[0] = { lowerdirs: o.lowerdirs, target: dest, flags, options: o.rest };
    if (o.upperdir !== undefined) spec.upperdir = o.upperdir;
    if (o.workdir !== undefined) spec.workdir = o.workdir;
    sys.mountOverlay(spec);
  } else {
    const bind = m.type === 'bind' || (flags & MountFlags.BIND) !== 0;
    const mflags = m.type === 'bind' ? flags | MountFlags.BIND : flags;
    if ((mflags & MountFlags.REMOUNT) === 0 || data.length > 0) {
      sys.mount(m.source, dest, bind ? null : m.type, mflags, data.length > 0 ? data.join(',') : null);
    }
    if (bind && (mflags & MountFlags.RDONLY) !== 0) {
      // The kernel applies per-mount flags of a bind only on a remount.
      sys.mount('', dest, null, (mflags & ~MountFlags.REC) | MountFlags.REMOUNT, null);
    }
  }
  if (propagation !== 0) sys.mount('', dest, null, propagation, null);
}

/**
 * Unmounts everything mounted at `target` (stacked mounts included): umount2 until the kernel
 * says EINVAL (nothing mounted there) or ENOENT. A busy mount (EBUSY) is retried for about a
 * second, then detached (MNT_DETACH) so it goes away once its last user does.
 */
export async function unmountAll(target: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (!(await unmountOnce(target))) return;
  }
}

/** One umount at `target`; false when nothing was mounted there. */
async function unmountOnce(target: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      sys.umount(target, attempt < 20 ? 0 : UnmountFlags.DETACH);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EINVAL' || code === 'ENOENT') return false;
      if (code !== 'EBUSY' || attempt >= 20) throw err;
      await sleep(50);
    }
  }
}

/**
 * Mounts `mounts` on a fresh temp dir, runs `fn(dir)`, and always unmounts and removes the dir,
 * whether `fn` succeeds or throws. The dir is removed with rmdir (never recursively), so a mount
 * that could not be undone never has its contents deleted. Returns what `fn` returns.
 */
export async function withMounts<T>(
  mounts: readonly Mount[],
  fn: (dir: string) => Promise<T> | T,
  opts: { tmpdir?: string } = {},
): Promise<T> {
  const dir = await mkdtemp(join(opts.tmpdir ?? tmpdir(), 'berth-mount-'));
  try {
    await mountAll(mounts, dir);
    try {
      return await fn(dir);
    } finally {
      await unmountAll(dir);
    }
  } finally {
    await rmdir(dir);
  }
}
