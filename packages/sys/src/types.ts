/**
 * The Linux calls Node lacks, as berth uses them. Every call is synchronous unless it
 * returns a Promise; failures throw a `SysError` carrying the errno name (`EPERM`, `ENOENT`, …)
 * as `code`, like Node's own fs errors, plus the syscall and path.
 */

/** mount(2) flags (MS_*). Combine with `|`. */
export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** umount2(2) flags. */
export const UnmountFlags = {
  FORCE: 0x1,
  DETACH: 0x2,
  EXPIRE: 0x4,
  NOFOLLOW: 0x8,
} as const;

/** File type bits for `mknod` (S_IF*). */
export const FileType = {
  FIFO: 0o010000,
  CHR: 0o020000,
  DIR: 0o040000,
  BLK: 0o060000,
  REG: 0o100000,
} as const;

/** posix_fadvise(2) advice values. */
export const FadviseAdvice = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  NOREUSE: 5,
} as const;

/** fallocate(2) modes (FALLOC_FL_*). */
export const FallocateMode = {
  /** Allocate blocks without changing the file size (space past EOF stays invisible). */
  KEEP_SIZE: 0x01,
  PUNCH_HOLE: 0x02,
  ZERO_RANGE: 0x10,
} as const;

/** An error from a system call. `code` is the errno name; `errno` the number. */
export interface SysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** How a child ended, decoded from a wait status. */
export interface ExitStatus {
  pid: number;
  /** The exit code when the process exited; 128+signal when killed (shell convention). */
  exitCode: number;
  /** The signal number when it was killed by a signal. */
  signal?: number;
  /** Whether it dumped core. */
  coreDumped?: boolean;
}

/** A terminal's window size in character cells (struct winsize without the pixel fields). */
export interface Winsize {
  rows: number;
  cols: number;
}

/** A new pseudo-terminal pair from `openPty`; both fds are close-on-exec and blocking. */
export interface Pty {
  /** The controlling side (what a shim reads output from and writes input to). */
  master: number;
  /** The terminal side, opened O_NOCTTY (what the process gets as stdio). */
  slave: number;
  /** The slave's device path, e.g. /dev/pts/3. */
  slavePath: string;
}

/** The addon's surface. */
export interface Sys {
  /** mount(2). `fstype` and `data` may be null (bind mounts, remounts, propagation changes). */
  mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2). */
  umount(target: string, flags?: number): void;
  /**
   * Mounts overlayfs at `target` with any number of lower directories (top first), free of the
   * one-page limit of mount(2)'s option string: uses the new mount API (fsopen/fsconfig with
   * `lowerdir+`, Linux 6.8+) when the kernel has it, else mount(2) with the joined option
   * string (ENAMETOOLONG-style failures surface as the kernel reports them). `upperdir` and
   * `workdir` are both set or both omitted (a read-only overlay). `options` are extra overlay
   * options such as `index=off`, `userxattr`, `volatile`.
   */
  mountOverlay(spec: { lowerdirs: string[]; upperdir?: string; workdir?: string; target: string; flags?: number; options?: string[] }): void;
  /** mknod(2): a device node, FIFO or regular file; `dev` from `makedev`. Honours the umask like the syscall. */
  mknod(path: string, mode: number, dev: number): void;
  /** Linux makedev(3) for a major/minor pair. */
  makedev(major: number, minor: number): number;
  /** The major and minor of a `dev_t` (as in `fs.Stats.rdev`). */
  major(dev: number): number;
  minor(dev: number): number;
  /** lsetxattr(2): sets an attribute on the path itself (symlinks not followed). */
  lsetxattr(path: string, name: string, value: Uint8Array | string, flags?: number): void;
  /** lgetxattr(2): the value, or undefined when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** llistxattr(2): the attribute names, in the kernel's order. */
  llistxattr(path: string): string[];
  /** lremovexattr(2); an absent attribute is not an error. */
  lremovexattr(path: string, name: string): void;
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to this process. */
  setChildSubreaper(enabled: boolean): void;
  /** prctl(PR_GET_CHILD_SUBREAPER). */
  isChildSubreaper(): boolean;
  /** pidfd_open(2): a file descriptor that refers to the process `pid` (close it with fs.closeSync). */
  pidfdOpen(pid: number): number;
  /**
   * Waits on a worker thread for the child behind `pidfd` to exit and reaps it
   * (waitid(P_PIDFD, …, WEXITED)). Only for children of this process. Does not close the fd.
   */
  waitPidfd(pidfd: number): Promise<ExitStatus>;
  /**
   * posix_fadvise(2) on an open fd: `length` 0 means to the end of the file. With DONTNEED, clean
   * cached pages of the range are dropped (dirty ones stay until written back).
   */
  fadvise(fd: number, offset: number, length: number, advice: number): void;
  /**
   * fallocate(2): allocates (or with PUNCH_HOLE frees) disk blocks for a range of an open fd.
   * `length` must be positive. File systems without support give EOPNOTSUPP (`ENOTSUP`).
   */
  fallocate(fd: number, mode: number, offset: number, length: number): void;
  /** Reaps every child that has exited (waitpid(-1, WNOHANG) until none), without blocking. */
  reapAll(): ExitStatus[];
  /** Sends `signal` to the process behind `pidfd` (pidfd_send_signal(2)). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /**
   * Reaps one specific child without blocking (waitpid(pid, WNOHANG)): its ExitStatus once it has
   * exited (the zombie is then gone), or null while it is still running. Other children are never
   * touched. Throws ECHILD when `pid` is not a child of this process (or was already reaped).
   */
  reapPid(pid: number): ExitStatus | null;
  /** pipe2(O_CLOEXEC): a blocking pipe, both ends close-on-exec. Close them with fs.closeSync. */
  pipe(): [readFd: number, writeFd: number];
  /** Starts `file` with `args` (argv, its [0] included) and the child's fds 0–2 (null: /dev/null), as a vfork-like clone; its pid and a pidfd for it. */
  spawn(file: string, args: string[], stdio: [number | null, number | null, number | null]): { pid: number; pidfd: number };
  /** A close-on-exec memfd named `name` holding the regular file at `path`, executable and sealed against any change. */
  sealedCopy(path: string, name: string): number;
  /**
   * A new pseudo-terminal: posix_openpt, grantpt, unlockpt, then the slave opened by its
   * ptsname. Both fds are O_NOCTTY (never becomes this process's controlling terminal) and
   * close-on-exec. The caller closes both.
   */
  openPty(): Pty;
  /** ioctl(TIOCSWINSZ) on a terminal fd (either side of a pty); the foreground group gets SIGWINCH. rows, cols in 0..65535. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** ioctl(TIOCGWINSZ) on a terminal fd. ENOTTY when `fd` is not a terminal. */
  getWinsize(fd: number): Winsize;
  /**
   * A unix stream socket listening at `path` (socket, bind, listen); the fd is close-on-exec and
   * non-blocking. `backlog` defaults to 1 (a console socket takes one connection). Throws
   * ENAMETOOLONG when the path does not fit sockaddr_un (107 bytes), EADDRINUSE when the path
   * exists (stale sockets are not removed). The caller closes the fd and unlinks the path.
   */
  listenUnix(path: string, backlog?: number): number;
  /**
   * Accepts one connection on `listenFd` (from `listenUnix`) and returns the first fd the peer
   * passed with SCM_RIGHTS, as runc and crun do with `--console-socket`; the fd is close-on-exec,
   * any further fds in the message are closed, and so is the connection. Runs on a small thread
   * of its own (not libuv's pool), which keeps the event loop alive until the promise settles.
   * Rejects with ETIMEDOUT when nothing arrives within `timeoutMs` (connection and message
   * together), and with EBADMSG when the peer's first message (or EOF) carries no fd, so
   * connecting and closing is a way to wake it. It never closes `listenFd`: close that only
   * after the promise settles. Bad arguments reject, they do not throw.
   */
  receiveFd(listenFd: number, timeoutMs: number): Promise<number>;
  /**
   * Connects to the unix socket at `path` and passes `fd` with SCM_RIGHTS (plus one data byte),
   * then closes the connection; the receiver gets its own copy, `fd` stays open here. The peer
   * side of `receiveFd`. Blocks while the listener's backlog is full.
   */
  sendFd(path: string, fd: number): void;
}
