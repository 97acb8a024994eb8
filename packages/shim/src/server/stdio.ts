import { randomBytes } from 'node:crypto';
import { closeSync, constants, createWriteStream, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import type { Writable } from 'node:stream';
import { invalidArgument } from '@berth/errdefs';
import type { Stdio } from '@berth/runtime';
import { listenUnix, mkfifo, pipe, receiveFd, setWinsize } from '@berth/sys';

/** What a client asked for: FIFO paths (or `file://` URIs for stdout/stderr); '' for none. */
export interface StdioRequest {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** How long the console socket waits for the runtime to send the pty master. */
const CONSOLE_TIMEOUT_MS = 30_000;

/**
 * The stdio of one container process, owned by the shim so that it outlives any client.
 *
 * Without a terminal, stdout and stderr go to the client's FIFOs directly: the shim opens each
 * FIFO for writing and hands that fd to the runtime, so the container writes into the FIFO with
 * no copy through the shim; the shim also keeps a read end open, so that writes never fail with
 * EPIPE while no client reads (they wait, as with containerd). `file://` targets are opened for
 * appending and handed over the same way. Stdin is a pipe whose write end the shim feeds from
 * the stdin FIFO, so the container sees EOF exactly when the client closes its end or calls
 * CloseIO, and never before a client has opened it.
 *
 * With a terminal, the runtime sends the pty master over a console socket; the shim copies
 * master → stdout FIFO and stdin FIFO → master, and resizes the master.
 */
export class ProcessIO {
  /** fds 0–2 for the runtime call (without a terminal). */
  readonly stdio: Stdio = ['ignore', 'ignore', 'ignore'];
  /** The console socket path to give the runtime (with a terminal). */
  readonly consoleSocket: string | undefined;

  private readonly owned: number[] = [];
  private readonly handedOver: number[] = [];
  private readonly streams: Socket[] = [];
  private readonly files: Writable[] = [];
  private stdinSource: Socket | undefined;
  private stdinSink: Socket | undefined;
  /**
   * The shim's own write end of the stdin FIFO, as containerd's shim keeps one: while it is
   * open the copy never reads EOF, not before the client opened its end and not between two
   * clients. CloseIO closes it; the copy then delivers what is left in the FIFO and ends once
   * the client's end is closed too.
   */
  private stdinHold: number | undefined;
  private masterFd: number | undefined;
  private consoleListener: number | undefined;
  private consoleReceipt: Promise<number> | undefined;
  private output: Promise<void> = Promise.resolve();

  private constructor(
    readonly request: StdioRequest,
    consoleDir: string,
  ) {
    if (request.terminal) this.consoleSocket = join(consoleDir, `c-${randomBytes(6).toString('hex')}.sock`);
  }

  /** Opens the FIFOs and files of `request`; nothing blocks on a client that has not opened its ends. */
  static open(request: StdioRequest, consoleDir: string): ProcessIO {
    const io = new ProcessIO(request, consoleDir);
    try {
      io.openAll();
    } catch (err) {
      io.close();
      throw err;
    }
    return io;
  }

  private openAll(): void {
    const r = this.request;
    if (r.terminal) {
      this.consoleListener = listenUnix(this.consoleSocket!);
      this.consoleReceipt = receiveFd(this.consoleListener, CONSOLE_TIMEOUT_MS);
      this.consoleReceipt.catch(() => {}); // observed in attachConsole / close
      return;
    }
    if (r.stdin) {
      const [readEnd, writeEnd] = pipe();
      this.handedOver.push(readEnd);
      this.stdio[0] = readEnd;
      const fifo = this.openFifoReader(r.stdin);
      this.stdinSource = this.track(new Socket({ fd: fifo, readable: true, writable: false }));
      this.stdinSink = this.track(new Socket({ fd: writeEnd, readable: false, writable: true }));
      this.stdinSource.pipe(this.stdinSink);
      this.stdinSink.on('error', () => this.abortStdin());
      this.stdinSource.on('error', () => this.abortStdin());
    }
    if (r.stdout) this.stdio[1] = this.openOutput(r.stdout);
    if (r.stderr) this.stdio[2] = r.stderr === r.stdout ? this.stdio[1] : this.openOutput(r.stderr);
  }

  /**
   * The runtime call is over: the container holds its own copies of the fds handed over, so
   * the shim closes its copies (the container's EOF on stdout then comes from the container).
   */
  afterSpawn(): void {
    for (const fd of this.handedOver.splice(0)) safeClose(fd);
  }

  /**
   * Terminal only: takes the pty master the runtime sent and starts copying. Call after the
   * runtime's create/exec returned successfully.
   */
  async attachConsole(): Promise<void> {
    if (!this.consoleReceipt) return;
    const fd = await this.consoleReceipt;
    this.masterFd = fd;
    // A pty master is a TTY to libuv: net.Socket refuses it, tty.ReadStream reads and writes it.
    const master = this.track(new ReadStream(fd));
    // Reading the master fails with EIO once the last holder of the pty's other side closed it
    // (the process exited): that is the end of the output, handled like 'end' below.
    master.on('error', () => {});
    if (this.request.stdout) {
      const out = this.openOutputStream(this.request.stdout);
      this.output = new Promise<void>((resolve) => {
        let ending = false;
        const done = (): void => {
          if (ending) return;
          ending = true;
          out.end(() => resolve());
        };
        master.on('end', done);
        master.on('error', done);
        master.on('close', done);
        out.on('error', () => resolve());
      });
      master.pipe(out, { end: false });
    } else {
      master.resume();
    }
    if (this.request.stdin) {
      const fifo = this.openFifoReader(this.request.stdin);
      this.stdinSource = this.track(new Socket({ fd: fifo, readable: true, writable: false }));
      this.stdinSource.pipe(master, { end: false });
    }
  }

  /** Terminal only: the window size of the pty. */
  resize(width: number, height: number): void {
    if (this.masterFd === undefined) throw invalidArgument('resize: the process has no terminal');
    setWinsize(this.masterFd, height, width);
  }

  /**
   * CloseIO: the container reads EOF after what the client wrote before closing its end of the
   * FIFO (the shim lets go of its own write end, and the copy ends at the FIFO's EOF).
   */
  closeStdin(): void {
    if (this.stdinHold !== undefined) {
      safeClose(this.stdinHold);
      this.stdinHold = undefined;
    }
  }

  /** Stops the stdin copy now, whatever is left in the FIFO (an error, or the process is gone). */
  private abortStdin(): void {
    this.closeStdin();
    this.stdinSource?.unpipe();
    this.stdinSource?.destroy();
    this.stdinSource = undefined;
    if (this.stdinSink) {
      const sink = this.stdinSink;
      this.stdinSink = undefined;
      sink.end(() => sink.destroy());
      setTimeout(() => sink.destroy(), 1000).unref();
    }
  }

  /** Resolves once the process's output has been delivered (terminal copies ended), or after `ms`. */
  async drained(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.output, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** Releases everything: fds, copies, the console socket. */
  close(): void {
    this.abortStdin();
    for (const s of this.streams.splice(0)) s.destroy();
    for (const f of this.files.splice(0)) f.destroy();
    for (const fd of [...this.handedOver.splice(0), ...this.owned.splice(0)]) safeClose(fd);
    if (this.consoleListener !== undefined) {
      const listener = this.consoleListener;
      this.consoleListener = undefined;
      const receipt = this.consoleReceipt!;
      if (this.masterFd === undefined) {
        // Unblock the receiver if the runtime never connected; close a master that arrives late.
        const poke = connect(this.consoleSocket!);
        poke.on('error', () => {});
        poke.on('connect', () => poke.destroy());
        receipt.then(safeClose, () => {});
      }
      void receipt.finally(() => safeClose(listener)).catch(() => {});
      rmSync(this.consoleSocket!, { force: true });
    }
  }

  private track(s: Socket): Socket {
    this.streams.push(s);
    return s;
  }

  /**
   * The stdin FIFO's read end, opened without waiting for a writer (the FIFO is made when
   * missing), and the shim's own write end (`stdinHold`) that keeps it from EOF.
   */
  private openFifoReader(path: string): number {
    ensureFifo(path);
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      this.stdinHold = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      safeClose(fd);
      throw err;
    }
    return fd;
  }

  /** An fd for the container's stdout/stderr: the FIFO's write end (plus a keep-open read end), or a log file. */
  private openOutput(target: string): number {
    const file = fileTarget(target);
    if (file !== undefined) {
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o640);
      this.handedOver.push(fd);
      return fd;
    }
    ensureFifo(target);
    this.owned.push(openSync(target, constants.O_RDONLY | constants.O_NONBLOCK));
    const fd = openSync(target, constants.O_WRONLY);
    this.handedOver.push(fd);
    return fd;
  }

  /** A writable stream into a stdout target, for the terminal copy. */
  private openOutputStream(target: string): Writable {
    const file = fileTarget(target);
    if (file !== undefined) {
      const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o640);
      const stream = createWriteStream('', { fd, autoClose: true });
      this.files.push(stream);
      return stream;
    }
    ensureFifo(target);
    this.owned.push(openSync(target, constants.O_RDONLY | constants.O_NONBLOCK));
    const fd = openSync(target, constants.O_WRONLY);
    return this.track(new Socket({ fd, readable: false, writable: true }));
  }
}

/** The path of a `file://` target, or undefined for a FIFO path. Other schemes are refused. */
function fileTarget(target: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target)?.[1];
  if (scheme === undefined) return undefined;
  if (scheme.toLowerCase() !== 'file') throw invalidArgument(`stdio "${target}": unsupported scheme "${scheme}" (FIFO paths and file:// URIs are)`);
  const path = decodeURIComponent(new URL(target).pathname);
  if (!path.startsWith('/')) throw invalidArgument(`stdio "${target}": not an absolute path`);
  return path;
}

function ensureFifo(path: string): void {
  if (!path.startsWith('/')) throw invalidArgument(`stdio "${path}": not an absolute path`);
  if (!existsSync(path)) {
    mkfifo(path, 0o600);
    return;
  }
  if (!statSync(path).isFIFO()) throw invalidArgument(`stdio "${path}": not a FIFO (use file:// for a log file)`);
}

function safeClose(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

