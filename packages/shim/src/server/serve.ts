import { closeSync, mkdirSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { task } from '@berth/api';
import { createServer, type ServiceImpl } from '@berth/ttrpc';
import { Reaper } from './reaper';
import { TaskService } from './task-service';

/** Options of `serveShim` (the `berth-shim serve` process). */
export interface ServeOptions {
  /** The unix socket to serve the task API on. */
  socket: string;
  /** Default runtime binary: 'crun', 'runc' or a path. */
  runtime: string;
  /** Default runtime state dir (`--root`). */
  runtimeRoot: string;
  /** Exit after this long without containers (after the first one or from the start). Default 60 s. */
  idleExitMs?: number;
  /** Where console sockets go; default: the socket's directory. */
  consoleDir?: string;
  /** An fd to write "ready\n" to (and close) once the socket accepts calls. */
  readyFd?: number;
}

/**
 * Runs a shim: becomes a child subreaper, serves containerd's task API on `socket` for any
 * number of containers, and exits once it has had no containers for `idleExitMs` (or on
 * Shutdown). Resolves when the shim stops serving.
 */
export async function serveShim(opts: ServeOptions): Promise<void> {
  const reaper = new Reaper();
  reaper.start();
  const idleExitMs = opts.idleExitMs ?? 60_000;
  let idleTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(idleTimer);
    // Let the reply to Shutdown go out first.
    setImmediate(() => {
      void server.close().finally(() => {
        reaper.stop();
        rmSync(opts.socket, { force: true });
        resolveStopped();
      });
    });
  };
  const armIdle = (count: number): void => {
    clearTimeout(idleTimer);
    idleTimer = count === 0 ? setTimeout(stop, idleExitMs) : undefined;
  };

  mkdirSync(dirname(opts.socket), { recursive: true, mode: 0o711 });
  const service = new TaskService({
    reaper,
    runtime: opts.runtime,
    runtimeRoot: opts.runtimeRoot,
    address: opts.socket,
    consoleDir: opts.consoleDir ?? dirname(opts.socket),
    onCountChange: armIdle,
    onShutdown: stop,
  });
  const server = createServer();
  server.register(task.Task, taskImpl(service));
  await server.listen(opts.socket);
  warmCodecs();
  armIdle(0);
  if (opts.readyFd !== undefined) {
    writeSync(opts.readyFd, 'ready\n');
    closeSync(opts.readyFd);
  }
  return stopped;
}

/**
 * Runs every codec of the task API once now, so that V8 compiles them at the shim's start, which
 * is off the path of the first container.
 */
function warmCodecs(): void {
  const empty = new Uint8Array(0);
  for (const m of Object.values(task.Task.methods)) {
    m.requestType.encode(m.requestType.decode(empty));
    m.responseType.encode(m.responseType.decode(empty));
  }
}

/** The ttrpc binding: each rpc to the TaskService method of the same name. */
function taskImpl(s: TaskService): ServiceImpl<(typeof task.Task)['methods']> {
  const empty = {};
  return {
    state: async (req) => s.state(req),
    create: (req) => s.create(req),
    start: (req) => s.start(req),
    delete: (req) => s.delete(req),
    pids: (req) => s.pids(req),
    pause: async (req) => (await s.pause(req), empty),
    resume: async (req) => (await s.resume(req), empty),
    checkpoint: async (req) => s.checkpoint(req),
    kill: async (req) => (await s.kill(req), empty),
    exec: async (req) => (s.exec(req), empty),
    resizePty: async (req) => (s.resizePty(req), empty),
    closeIO: async (req) => (s.closeIO(req), empty),
    update: async (req) => (await s.update(req), empty),
    wait: (req) => s.wait(req),
    stats: (req) => s.stats(req),
    connect: async (req) => s.connect(req),
    shutdown: async (req) => (s.shutdown(req), empty),
  };
}
