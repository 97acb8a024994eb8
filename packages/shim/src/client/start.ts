import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUnavailable, unavailable } from '@berth/errdefs';
import { connectShim } from './client';
import { DEFAULT_RUNTIME_ROOT, DEFAULT_SOCKET_DIR, shimCliPath, shimSocketPath } from './paths';

/** Options of `startShim`. */
export interface StartShimOptions {
  /**
   * Containers with the same group share one shim (e.g. a namespace, or a pod). Default: a
   * shim of its own (a random group).
   */
  group?: string;
  /** Directory of shim sockets and logs; default /run/berth/s. */
  socketDir?: string;
  /** Default runtime of the shim: 'crun', 'runc' or a path; default 'runc'. */
  runtime?: string;
  /** Default runtime state dir; default /run/berth/runtime/<runtime name>. */
  runtimeRoot?: string;
  /** How long the shim lives without containers; default 60 s. */
  idleExitMs?: number;
}

/** A running shim. */
export interface ShimHandle {
  /** `unix://<socket>`. */
  address: string;
  socket: string;
  pid: number;
  /** Whether a shim already served the group (no process was started). */
  reused: boolean;
}

/**
 * Returns the shim serving `group`, starting one when none answers: a detached `berth-shim
 * serve` in its own session (so it survives the caller), its stderr in `<socket>.log`. Only one
 * shim is started per group even when several callers race (a lock file next to the socket).
 */
export async function startShim(opts: StartShimOptions = {}): Promise<ShimHandle> {
  const socketDir = opts.socketDir ?? DEFAULT_SOCKET_DIR;
  const group = opts.group ?? `solo-${process.pid}-${Date.now()}-${Math.random()}`;
  const socket = shimSocketPath(socketDir, group);
  mkdirSync(socketDir, { recursive: true, mode: 0o711 });
  for (let attempt = 0; attempt < 200; attempt++) {
    const live = await probe(socket);
    if (live !== undefined) return { address: `unix://${socket}`, socket, pid: live, reused: true };
    const lock = `${socket}.lock`;
    if (!takeLock(lock)) {
      await sleep(10);
      continue;
    }
    try {
      if ((await probe(socket)) === undefined) {
        const pid = await spawnShim(socket, opts);
        return { address: `unix://${socket}`, socket, pid, reused: false };
      }
    } finally {
      rmSync(lock, { force: true });
    }
  }
  throw unavailable(`berth-shim for group "${group}": could not start or reach it at ${socket}`);
}

/** The shim's pid when one answers on `socket`. */
async function probe(socket: string): Promise<number | undefined> {
  try {
    const client = await connectShim(socket, { timeoutMs: 2000 });
    try {
      return (await client.connect({})).shimPid;
    } finally {
      client.close();
    }
  } catch (err) {
    if (isUnavailable(err)) return undefined;
    throw err;
  }
}

/** How long an empty lock file counts as being written by its creator rather than abandoned. */
const FRESH_LOCK_MS = 5000;

/**
 * Creates the lock file exclusively; a lock whose owner died is taken over. A lock file that is
 * still empty was just created (its owner writes its pid right after): it is held, unless it is
 * old enough to have been left by an owner that died in between.
 */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let text: string;
  let age: number;
  try {
    text = readFileSync(lock, 'utf8').trim();
    age = Date.now() - statSync(lock).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // released meanwhile: try again
    throw err;
  }
  const owner = Number(text || '0');
  if (owner > 0 ? isAlive(owner) : age < FRESH_LOCK_MS) return false;
  rmSync(lock, { force: true });
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function spawnShim(socket: string, opts: StartShimOptions): Promise<number> {
  const runtime = opts.runtime ?? 'runc';
  const runtimeRoot = opts.runtimeRoot ?? join(DEFAULT_RUNTIME_ROOT, runtime.split('/').pop()!);
  const args = [
    ...SHIM_NODE_FLAGS,
    shimCliPath(),
    'serve',
    '--socket',
    socket,
    '--runtime',
    runtime,
    '--runtime-root',
    runtimeRoot,
    '--ready-fd',
    '3',
  ];
  if (opts.idleExitMs !== undefined) args.push('--idle-exit-ms', String(opts.idleExitMs));
  const log = openSync(`${socket}.log`, 'a', 0o600);
  try {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log, 'pipe'], cwd: '/' });
    const ready = child.stdio[3]!;
    const outcome = await new Promise<string>((resolve) => {
      let text = '';
      ready.on('data', (d: Buffer) => (text += d.toString()));
      ready.on('end', () => resolve(text));
      ready.on('error', () => resolve(text));
      child.once('exit', (code) => resolve(text || `exited with status ${code}`));
    });
    if (!outcome.startsWith('ready')) {
      throw unavailable(`berth-shim did not start (${outcome.trim() || 'no ready signal'}); see ${socket}.log`);
    }
    child.unref();
    (ready as unknown as { destroy(): void }).destroy();
    return child.pid!;
  } finally {
    closeSync(log);
  }
}

/**
 * V8 flags of the shim process: a small young generation and no concurrent background
 * compilation threads, since a shim is idle nearly always and its memory is counted per
 * container.
 */
export const SHIM_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded-gc'];
