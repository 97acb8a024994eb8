import { createWriteStream, existsSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FifoSet, SnapshotsClient, type ContainerRecord, type ProcessRef, type SnapshotMount, lazy } from '@berth/client';
import { CliError } from './errors';
import { containerDir, fifoRoot, logFiles, SIGNALS, taskOf, type Ctx } from './context';
import { appendTime } from './log-times';
import { nativeMkfifo } from './native-fifo';

/** The label that records `-i` on a container, so that `start` gives it an open stdin. */
export const OPEN_STDIN_LABEL = 'berth/open-stdin';

/**
 * Creates the container's task (deleting a finished one first; `mounts`: the container was just
 * created with its snapshot's mounts) with its output going to its log
 * files and starts it. With `remove` (`run -d --rm`) or `-i`, it leaves a `__monitor` helper for
 * this run (the removal after the exit, stdin held open, exact log times). Without, no process
 * stays behind (a helper costs ~28 MiB PSS per container): `logs -t` then dates the output by
 * the log file's modification time.
 */
export async function startDetached(ctx: Ctx, c: ContainerRecord, opts: { remove?: boolean; mounts?: SnapshotMount[] } = {}): Promise<void> {
  // A container just created (the caller has its snapshot's `mounts`) has no task yet.
  const t = opts.mounts ? undefined : await taskOf(ctx, c.id);
  if (t && (t.status === 'running' || t.status === 'paused')) return;
  if (t) await ctx.tasks.delete(c.id);
  const dir = containerDir(ctx.g, c.id, true);
  const logs = logFiles(ctx.g, c.id);
  const terminal = c.spec.process?.terminal ?? false;
  // `-i` without anyone attached (Docker's `-dit`): a stdin FIFO nobody writes yet, so the
  // container's stdin stays open instead of reading EOF at once.
  let stdin = '';
  if (c.labels[OPEN_STDIN_LABEL] === 'true') {
    stdin = join(dir, 'stdin');
    if (!existsSync(stdin)) {
      const mkfifo = nativeMkfifo();
      if (mkfifo) mkfifo(stdin, 0o600);
      else lazy.childProcess.execFileSync('mkfifo', ['-m', '600', stdin]);
    }
  }
  const rootfs = opts.mounts ?? (await new SnapshotsClient(ctx.conn, c.snapshotter || 'overlayfs').mounts(c.snapshotKey));
  const stdio = { stdin, stdout: `file://${logs.stdout}`, stderr: terminal ? '' : `file://${logs.stderr}`, terminal };
  await createTask(() => ctx.tasks.create(c.id, rootfs, stdio));
  await startTask(ctx, { containerId: c.id });
  // Only once the task runs: the helper's Wait must not find "no task" and end (or remove) too early.
  if (opts.remove || stdin) spawnMonitor(ctx.g, c.id, opts.remove ?? false);
}

/** Starts `berth __monitor [--rm] ID` in the background, detached from this process. */
function spawnMonitor(g: Ctx['g'], id: string, remove: boolean): void {
  const args = [process.argv[1]!, '--address', g.address, '--namespace', g.namespace, '__monitor', ...(remove ? ['--rm'] : []), id];
  lazy.childProcess.spawn(process.execPath, args, { detached: true, stdio: 'ignore' }).unref();
}

/** Options of `runAttached`. */
export interface AttachOptions {
  interactive: boolean;
  tty: boolean;
  /** Copy the output into the container's log files too (for `berth logs`). */
  log: boolean;
  /** The FIFOs, when the caller started making them (`FifoSet.make`) already; made here otherwise. */
  fifos?: Promise<FifoSet>;
  /**
   * Started as soon as the process exited (Wait answered), while its last output is still being
   * copied (the shim wrote it all before Wait answered) and maybe before Start answered;
   * awaited before `runAttached` returns. `run --rm` removes the container there.
   */
  afterExit?: () => Promise<void>;
}

/**
 * Runs a process in the foreground as `ctr run`/`docker run` do: FIFOs, Create (`create`
 * makes the task or exec process with the FIFO paths), Wait, Start, local stdin → container
 * (CloseIO at EOF), signals forwarded, the terminal in raw mode and resized with `-t`; after
 * the exit, the output drained. Returns the exit status.
 */
export async function runAttached(
  ctx: Ctx,
  ref: ProcessRef,
  create: (stdio: FifoSet['stdio']) => Promise<void>,
  opts: AttachOptions,
): Promise<number> {
  const fifos = await (opts.fifos ?? makeFifos(ctx, ref.execId ?? ref.containerId, opts));
  const logs: WriteStream[] = [];
  const tees: LogTee[] = [];
  const removeListeners: (() => void)[] = [];
  const waiting = new AbortController();
  try {
    await create(fifos.stdio);
    let stdout: Writable = process.stdout;
    let stderr: Writable = process.stderr;
    if (opts.log) {
      containerDir(ctx.g, ref.containerId, true);
      const files = logFiles(ctx.g, ref.containerId);
      const out = createWriteStream(files.stdout, { flags: 'a' });
      const err = createWriteStream(files.stderr, { flags: 'a' });
      logs.push(out, err);
      tees.push(tee(process.stdout, out, files.stdout), tee(process.stderr, err, files.stderr));
      stdout = tees[0]!.stream;
      stderr = tees[1]!.stream;
    }
    const stdinIsTty = opts.tty && process.stdin.isTTY;
    fifos.attach({
      stdout,
      stderr,
      ...(opts.interactive ? { stdin: process.stdin, onStdinEnd: () => void ctx.tasks.closeIO(ref).catch(() => {}) } : {}),
    });
    const exited = ctx.tasks.wait(ref, { signal: waiting.signal });
    exited.catch(() => {});
    // Starts with the exit, even before Start answers: a short-lived process can be gone while
    // the runtime's start is still returning.
    const after = opts.afterExit ? exited.then(() => opts.afterExit!(), () => undefined) : undefined;
    if (stdinIsTty) process.stdin.setRawMode(true);
    removeListeners.push(() => {
      if (stdinIsTty) process.stdin.setRawMode(false);
    });
    await startTask(ctx, ref);
    if (opts.tty && process.stdout.isTTY) {
      const resize = () => void ctx.tasks.resize(ref, process.stdout.columns, process.stdout.rows).catch(() => {});
      resize();
      process.stdout.on('resize', resize);
      removeListeners.push(() => process.stdout.off('resize', resize));
    }
    if (!opts.tty) {
      for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
        const forward = () => void ctx.tasks.kill(ref, SIGNALS[name.slice(3)]!).catch(() => {});
        process.on(name, forward);
        removeListeners.push(() => process.off(name, forward));
      }
    }
    const { exitStatus } = await exited;
    await fifos.drain();
    await after;
    return exitStatus;
  } finally {
    waiting.abort();
    for (const r of removeListeners) r();
    if (opts.interactive) process.stdin.pause();
    fifos.close();
    // The tees first: chunks they still hold go to the log files before those are ended.
    await Promise.all(tees.map((t) => new Promise((r) => t.stream.end(r))));
    await Promise.all(logs.map((l) => new Promise((r) => l.end(r))));
    for (const t of tees) t.flush();
  }
}

/** Starts making the FIFOs of a foreground process (`runAttached`'s `fifos`). */
export function makeFifos(ctx: Ctx, id: string, opts: Pick<AttachOptions, 'interactive' | 'tty'>): Promise<FifoSet> {
  const mkfifo = nativeMkfifo();
  return FifoSet.make(fifoRoot(ctx.g), id, { stdin: opts.interactive, terminal: opts.tty, ...(mkfifo ? { mkfifo } : {}) });
}

/** At most one time index entry per this many ms: a burst of output shares the time of its last chunk. */
const TIME_EVERY_MS = 50;

/** A `tee`: the stream to write to, and `flush` to record the last time held back (after the log's end). */
interface LogTee {
  stream: Writable;
  flush(): void;
}

/**
 * Copies to `a` and to the log `b` (at `path`), recording in the log's time index when its
 * bytes were written (see log-times.ts): not for every chunk, which would be a synchronous
 * append per chunk of output, but once per `TIME_EVERY_MS`, and at `flush`.
 */
function tee(a: Writable, b: Writable, path: string): LogTee {
  let end = existsSync(path) ? statSync(path).size : 0;
  let recordedAt = 0;
  let pending: { end: number; at: number } | undefined;
  const record = (upTo: number, at: number): void => {
    pending = undefined;
    recordedAt = at;
    try {
      appendTime(path, upTo, at);
    } catch {
      // the container's directory is gone (removed while running): nothing to index
    }
  };
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const at = Date.now();
      a.write(chunk);
      end += chunk.length;
      const written = end;
      b.write(chunk, () => {
        if (at - recordedAt >= TIME_EVERY_MS) record(written, at);
        else pending = { end: written, at };
        cb();
      });
    },
  });
  // A write after an early end (the run failed before its output was drained) is dropped, not fatal.
  stream.on('error', () => {});
  return { stream, flush: () => pending && record(pending.end, pending.at) };
}

/**
 * Task and exec creation, with the runtime's "cannot run the command" errors as Docker's exit
 * codes: 127 when the executable is not found, 126 when it cannot be invoked.
 */
export async function createTask(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw commandError(err) ?? err;
  }
}

async function startTask(ctx: Ctx, ref: ProcessRef): Promise<void> {
  try {
    await ctx.tasks.start(ref);
  } catch (err) {
    throw commandError(err) ?? err;
  }
}

function commandError(err: unknown): CliError | undefined {
  const msg = (err as Error).message ?? '';
  if (!/exec|executable|command/i.test(msg)) return undefined;
  if (/executable file .*not found|not found in \$PATH|no such file or directory/i.test(msg)) return new CliError(`cannot run the command: ${msg}`, 127);
  if (/permission denied|operation not permitted|exec format error|is a directory/i.test(msg)) return new CliError(`cannot run the command: ${msg}`, 126);
  return undefined;
}

/** Removes what berth keeps for a container on the client side (its log directory). */
export function removeContainerFiles(ctx: Ctx, id: string): void {
  rmSync(containerDir(ctx.g, id), { recursive: true, force: true });
}
