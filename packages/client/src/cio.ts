import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmdirSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ProcessStdio } from './tasks-client';
import { lazy } from './lazy-node';

/** Which streams a process gets. */
export interface FifoOptions {
  stdin?: boolean;
  /** With a terminal, stdout carries the pty and there is no stderr. */
  terminal?: boolean;
  /**
   * Makes one FIFO in this process (as @berth/sys's `mkfifo` does: mknod(2) with S_IFIFO).
   * Without it the FIFOs are made by coreutils' `mkfifo`, a child process: ~5 ms of a short
   * `run`, most of it forking this process.
   */
  mkfifo?: (path: string, mode: number) => void;
}

/**
 * The stdio FIFOs of one process, as containerd's `cio` makes them: a fresh directory under
 * `root` holding `<id>-stdin`, `<id>-stdout`, `<id>-stderr` (mode 0600, made with coreutils'
 * `mkfifo`, which Node lacks).
 *
 * Use: `make` → pass `stdio` to Tasks.Create/Exec → `open()` → Start → … → Wait →
 * `drain()` → `close()`. The read ends are opened non-blocking before the task exists, so
 * the shim's write-open never blocks; stdin's write end is opened after Create/Exec, once the
 * shim reads it.
 */
export class FifoSet {
  readonly dir: string;
  readonly stdio: Required<ProcessStdio>;
  #readFds: { out?: number; err?: number } = {};
  #out: Socket | undefined;
  #err: Socket | undefined;
  #in: Socket | undefined;
  #ended: Promise<void>[] = [];

  private constructor(dir: string, stdio: Required<ProcessStdio>) {
    this.dir = dir;
    this.stdio = stdio;
  }

  /**
   * Makes the FIFOs (with `opts.mkfifo`, else the `mkfifo` command, without blocking the event
   * loop: a caller can start it first and make its other calls meanwhile) and opens their read ends.
   */
  static async make(root: string, id: string, opts: FifoOptions = {}): Promise<FifoSet> {
    const { dir, stdio, fifos } = FifoSet.#paths(root, id, opts);
    try {
      if (opts.mkfifo) for (const fifo of fifos) opts.mkfifo(fifo, 0o600);
      else {
        await new Promise<void>((resolve, reject) =>
          lazy.childProcess.execFile('mkfifo', ['-m', '600', ...fifos], (err, _stdout, stderr) => (err ? reject(new Error(`mkfifo: ${stderr.trim() || err.message}`)) : resolve())),
        );
      }
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return FifoSet.#opened(dir, stdio);
  }

  static #paths(root: string, id: string, opts: FifoOptions): { dir: string; stdio: Required<ProcessStdio>; fifos: string[] } {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const dir = mkdtempSync(join(root, `${id.slice(0, 12)}-`));
    const path = (s: string) => join(dir, `${id}-${s}`);
    const stdio = { stdin: opts.stdin ? path('stdin') : '', stdout: path('stdout'), stderr: opts.terminal ? '' : path('stderr'), terminal: opts.terminal ?? false };
    return { dir, stdio, fifos: [stdio.stdin, stdio.stdout, stdio.stderr].filter(Boolean) };
  }

  static #opened(dir: string, stdio: Required<ProcessStdio>): FifoSet {
    const set = new FifoSet(dir, stdio);
    set.#readFds.out = openSync(stdio.stdout, constants.O_RDONLY | constants.O_NONBLOCK);
    if (stdio.stderr) set.#readFds.err = openSync(stdio.stderr, constants.O_RDONLY | constants.O_NONBLOCK);
    return set;
  }

  /**
   * Connects the process's output to `stdout`/`stderr` (not ended by this) and, when it has a
   * stdin, `stdin` to it; call after Tasks.Create/Exec. `onStdinEnd` runs when `stdin` ends
   * (callers send CloseIO there, as ctr does).
   */
  attach(targets: { stdout: Writable; stderr?: Writable; stdin?: Readable; onStdinEnd?: () => void }): void {
    const pump = (fd: number | undefined, to: Writable | undefined): Socket | undefined => {
      if (fd === undefined) return undefined;
      const s = new Socket({ fd, readable: true, writable: false });
      this.#ended.push(new Promise((resolve) => {
        s.once('end', resolve);
        s.once('close', resolve);
        s.once('error', resolve);
      }));
      if (to) s.on('data', (chunk: Buffer) => to.write(chunk));
      else s.resume();
      return s;
    };
    this.#out = pump(this.#readFds.out, targets.stdout);
    this.#err = pump(this.#readFds.err, targets.stderr ?? targets.stdout);
    this.#readFds = {};
    if (this.stdio.stdin && targets.stdin) {
      const fd = openSync(this.stdio.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
      const sink = new Socket({ fd, readable: false, writable: true });
      sink.on('error', () => {});
      this.#in = sink;
      targets.stdin.pipe(sink);
      targets.stdin.once('end', () => targets.onStdinEnd?.());
    }
  }

  /** Waits until the output FIFOs hit EOF (every writer gone), at most `timeoutMs`. */
  async drain(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#ended), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Closes every end and removes the directory. Idempotent. */
  close(): void {
    for (const s of [this.#out, this.#err, this.#in]) s?.destroy();
    for (const fd of Object.values(this.#readFds)) if (fd !== undefined) closeSync(fd);
    this.#readFds = {};
    removeFifoDir(this.dir, this.stdio);
  }
}

/** Removes the FIFOs and their directory: an unlink each and an rmdir (rmSync's recursive walk costs a few ms to load). */
function removeFifoDir(dir: string, stdio: Required<ProcessStdio>): void {
  try {
    for (const fifo of [stdio.stdin, stdio.stdout, stdio.stderr]) if (fifo) rmSync(fifo, { force: true });
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}
