/**
 * @berth/sys — the Linux calls Node lacks, typed. The native addon (build/Release/berth_sys.node,
 * built by node-gyp at `npm install`) is loaded on the first call, so importing this module costs
 * next to nothing; `loadSys()` loads it up front (e.g. to fail early at startup).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { FileType } from './types.js';
import type { ExitStatus, Pty, Sys, SysError, Winsize } from './types.js';

export { FadviseAdvice, FallocateMode, FileType, MountFlags, UnmountFlags } from './types.js';
export type { ExitStatus, Pty, Sys, SysError, Winsize } from './types.js';

if (process.platform !== 'linux') {
  throw new Error(`@berth/sys supports Linux only (this is ${process.platform})`);
}

/** lsetxattr(2) flags. */
export const XattrFlags = {
  /** Fail with EEXIST if the attribute exists. */
  CREATE: 0x1,
  /** Fail with ENODATA if the attribute does not exist. */
  REPLACE: 0x2,
} as const;

/**
 * Extra fields the addon puts on its errors, besides SysError's `code`, `errno`, `syscall`, `path`:
 * `mount` errors carry `path` = the target, `source` and `fstype`; xattr errors carry the attribute
 * name in `detail`; overlay errors carry the kernel's own explanation (from the fs context log,
 * e.g. "overlay: too many lower directories, limit is 500") in `detail`. `detail` is also appended
 * to the message in parentheses. errno 95 is named `ENOTSUP`, as Node names it.
 */
export interface SysErrorDetails extends SysError {
  dest?: string;
  source?: string;
  fstype?: string;
  detail?: string;
}

// Relative to this file: src/ under vitest, dist/ once bundled; both sit next to build/.
const ADDON_PATH = '../build/Release/berth_sys.node';

let binding: Sys | undefined;

/**
 * The path of `berth-hide-unified` (built beside the addon): `berth-hide-unified PATH PROGRAM
 * [ARGS…]` runs PROGRAM in a private mount namespace with the mount at PATH detached, in one
 * exec (exit 125 with a message when a step fails). Undefined when it has not been built.
 */
export function hideUnifiedHelper(): string | undefined {
  const path = new URL('../build/Release/berth-hide-unified', import.meta.url).pathname;
  return existsSync(path) ? path : undefined;
}

/** The native binding (loaded on first use). Throws a clear Error when it has not been built. */
export function loadSys(): Sys {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  let resolved: string;
  try {
    resolved = require.resolve(ADDON_PATH);
  } catch {
    throw new Error(
      `@berth/sys: the native addon is missing (${new URL(ADDON_PATH, import.meta.url).pathname}); ` +
        'run `npm install` (which runs `node-gyp rebuild` in packages/sys) to build it',
    );
  }
  try {
    binding = require(resolved) as Sys;
  } catch (err) {
    throw new Error(
      `@berth/sys: cannot load the native addon ${resolved}: ${(err as Error).message}; ` +
        'rebuild it for this Node with `npm rebuild @berth/sys`',
      { cause: err },
    );
  }
  return binding;
}

/** mount(2). `fstype` and `data` may be null (bind mounts, remounts, propagation changes). */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  (binding ?? loadSys()).mount(source as string, target, fstype, flags, data);
}

/** umount2(2); `flags` from UnmountFlags. */
export function umount(target: string, flags = 0): void {
  (binding ?? loadSys()).umount(target, flags);
}

/** Mounts overlayfs; see `Sys.mountOverlay`. The kernel allows at most 500 lower directories. */
export function mountOverlay(spec: Parameters<Sys['mountOverlay']>[0]): void {
  (binding ?? loadSys()).mountOverlay(spec);
}

/** mknod(2): `mode` = FileType.* | permission bits; `dev` from `makedev` (0 for FIFOs). */
export function mknod(path: string, mode: number, dev = 0): void {
  (binding ?? loadSys()).mknod(path, mode, dev);
}

/** A FIFO at `path` (mknod with S_IFIFO); `mode` is the permission bits, umask applies. */
export function mkfifo(path: string, mode = 0o666): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`mkfifo: mode must be permission bits (0..0o7777), got ${String(mode)}`);
  }
  (binding ?? loadSys()).mknod(path, FileType.FIFO | mode, 0);
}

export function makedev(major: number, minor: number): number {
  return (binding ?? loadSys()).makedev(major, minor);
}

export function major(dev: number): number {
  return (binding ?? loadSys()).major(dev);
}

export function minor(dev: number): number {
  return (binding ?? loadSys()).minor(dev);
}

/** lsetxattr(2); `flags` from XattrFlags. A string value is stored as UTF-8. */
export function lsetxattr(path: string, name: string, value: Uint8Array | string, flags = 0): void {
  (binding ?? loadSys()).lsetxattr(path, name, value, flags);
}

/** lgetxattr(2): the value, or undefined when absent. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  return (binding ?? loadSys()).lgetxattr(path, name);
}

export function llistxattr(path: string): string[] {
  return (binding ?? loadSys()).llistxattr(path);
}

/** lremovexattr(2); an absent attribute is not an error. */
export function lremovexattr(path: string, name: string): void {
  (binding ?? loadSys()).lremovexattr(path, name);
}

export function setChildSubreaper(enabled: boolean): void {
  (binding ?? loadSys()).setChildSubreaper(enabled);
}

export function isChildSubreaper(): boolean {
  return (binding ?? loadSys()).isChildSubreaper();
}

/** pidfd_open(2); the fd is close-on-exec. Close it with fs.closeSync. */
export function pidfdOpen(pid: number): number {
  return (binding ?? loadSys()).pidfdOpen(pid);
}

/**
 * Waits for the child behind `pidfd` and reaps it. Each pending wait holds one small thread of
 * its own (not libuv's pool) and keeps the event loop alive. Do not use it on children started
 * by `child_process` unless you never need their 'exit' event: whoever reaps first wins, and
 * libuv then never reports the exit.
 */
export function waitPidfd(pidfd: number): Promise<ExitStatus> {
  try {
    return (binding ?? loadSys()).waitPidfd(pidfd);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Reaps every exited child without blocking. This takes ANY child, including those of
 * `child_process` (whose 'exit' event then never fires): use it in processes that own all their
 * children, like the shim.
 */
export function reapAll(): ExitStatus[] {
  return (binding ?? loadSys()).reapAll();
}

/** posix_fadvise(2) on an open fd (see `Sys.fadvise`); `advice` from `FadviseAdvice`. */
export function fadvise(fd: number, offset: number, length: number, advice: number): void {
  (binding ?? loadSys()).fadvise(fd, offset, length, advice);
}

/** fallocate(2) on an open fd (see `Sys.fallocate`); `mode` from `FallocateMode`, 0 for plain allocation. */
export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  (binding ?? loadSys()).fallocate(fd, mode, offset, length);
}

export function pidfdSendSignal(pidfd: number, signal: number): void {
  (binding ?? loadSys()).pidfdSendSignal(pidfd, signal);
}

/**
 * Reaps one specific child if it has exited (see `Sys.reapPid`): its ExitStatus, or null while
 * it runs; throws ECHILD when `pid` is not a child. Unlike `reapAll` it leaves every other child
 * alone, but do not pass the pid of a `child_process` child: reaping it hides its 'exit' event.
 */
export function reapPid(pid: number): ExitStatus | null {
  return (binding ?? loadSys()).reapPid(pid);
}

/**
 * Starts `file` (a path) with `args` (argv, `args[0]` included) as a clone(CLONE_VM|CLONE_VFORK)
 * child that execs at once: no copy of this process's memory (child_process forks, which costs a
 * 50 MB process ~2 ms per child). `stdio` gives the child's fds 0, 1 and 2 (null: /dev/null).
 * The child starts with every signal at its default and none blocked, this environment and
 * working directory; descriptors opened close-on-exec (all of Node's) do not reach it. Returns
 * its pid and a pidfd (close-on-exec) made with it: the caller waits through `waitPidfd`, which
 * reaps it, and closes the pidfd. Throws a SysError (`spawn`, e.g. ENOENT).
 */
export function spawnProcess(file: string, args: string[], stdio: [number | null, number | null, number | null]): { pid: number; pidfd: number } {
  return (binding ?? loadSys()).spawn(file, args, stdio);
}

/**
 * A copy of the program at `path` in a memfd named `name`, sealed against writing, shrinking,
 * growing and further seals (F_SEAL_SEAL|SHRINK|GROW|WRITE, nothing else), executable, and
 * close-on-exec; run it as `/proc/<this pid>/fd/<fd>` and close it with fs.closeSync. runc and
 * crun run from such a copy skip the copy of themselves they otherwise make at every start
 * (see sealed.c). Throws a SysError (`open`, `memfd_create`, `copy`, `fcntl(F_ADD_SEALS)`;
 * EINVAL for a path that is not a regular file).
 */
export function sealedCopy(path: string, name: string): number {
  return (binding ?? loadSys()).sealedCopy(path, name);
}

/** pipe2(O_CLOEXEC): [readFd, writeFd], blocking, both close-on-exec. */
export function pipe(): [readFd: number, writeFd: number] {
  return (binding ?? loadSys()).pipe();
}

/** A new pseudo-terminal pair (see `Sys.openPty`): master and slave fds, close-on-exec and O_NOCTTY. */
export function openPty(): Pty {
  return (binding ?? loadSys()).openPty();
}

/** ioctl(TIOCSWINSZ): sets the window size of the terminal behind `fd` (a pty master or slave). */
export function setWinsize(fd: number, rows: number, cols: number): void {
  (binding ?? loadSys()).setWinsize(fd, rows, cols);
}

/** ioctl(TIOCGWINSZ): the window size of the terminal behind `fd`. */
export function getWinsize(fd: number): Winsize {
  return (binding ?? loadSys()).getWinsize(fd);
}

/** A listening unix stream socket at `path` (see `Sys.listenUnix`); backlog 1 by default. */
export function listenUnix(path: string, backlog?: number): number {
  return (binding ?? loadSys()).listenUnix(path, backlog);
}

/**
 * Waits (on its own thread) for one connection on `listenFd` and resolves the first fd passed
 * over it with SCM_RIGHTS: how runc/crun hand over a container's pty master on
 * `--console-socket`. Rejects ETIMEDOUT after `timeoutMs`, EBADMSG when the peer sends no fd.
 * Never closes `listenFd`; close it once the promise has settled. See `Sys.receiveFd`.
 */
export function receiveFd(listenFd: number, timeoutMs: number): Promise<number> {
  try {
    return (binding ?? loadSys()).receiveFd(listenFd, timeoutMs);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Connects to the unix socket at `path` and passes `fd` over it with SCM_RIGHTS (see `Sys.sendFd`). */
export function sendFd(path: string, fd: number): void {
  (binding ?? loadSys()).sendFd(path, fd);
}

/** Whether `err` is an error from this addon (and, if `code` is given, has that errno name). */
export function isSysError(err: unknown, code?: string): err is SysErrorDetails {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<SysError>;
  if (typeof e.code !== 'string' || typeof e.errno !== 'number' || typeof e.syscall !== 'string') return false;
  return code === undefined || e.code === code;
}
