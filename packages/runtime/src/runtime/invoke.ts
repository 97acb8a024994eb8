import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, appendFileSync, closeSync, constants, readFileSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { alreadyExists, failedPrecondition, notFound, unavailable, type BerthError } from '@berth/errdefs';
import { loadSys, pipe, spawnProcess, waitPidfd } from '@berth/sys';
import type { Stdio } from './types';

/** The outcome of one runtime invocation that did not fail to start. */
export interface InvokeResult {
  /** Exit code, or 128+signal when the runtime was killed. */
  code: number;
  stdout: string;
  /** The last `error`/`fatal` message of the runtime's JSON log, or of its stderr. */
  error?: string;
}

/**
 * How to run the binary: the command actually spawned (a wrapper or the binary itself), and the
 * name it is known by (its argv[0] and the name in errors; default `file`).
 */
export type CommandBuilder = (args: string[]) => Command;

/** One command: what to execute, its arguments, and its name (`argv0`, default `file`). */
export interface Command {
  file: string;
  args: string[];
  argv0?: string;
}

/**
 * The absolute path of `binary`: as is when it contains a `/`, else the first executable match
 * on PATH. Unavailable when there is none.
 */
export function resolveBinary(binary: string, path = process.env.PATH ?? ''): string {
  const candidates = binary.includes('/') ? [binary] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw unavailable(`runtime ${binary}: executable not found`);
}

let seq = 0;

/**
 * Runs `<command> --log <tmp> --log-format json <args>` once, through @berth/sys's spawn when its
 * addon is built (no fork of this process), else child_process. With `stdio`, the child's fds
 * 0–2 are those (the container's process inherits them from `create`, `run` and `exec`) and
 * stdout is not captured; without, stdin is /dev/null and stdout/stderr are captured. Resolves
 * with the exit code whatever it is; rejects only when the command cannot be spawned
 * (Unavailable). `appendLog` receives the invocation's log lines. `childProcess` uses
 * child_process even where the addon is built.
 */
export async function invoke(
  build: CommandBuilder,
  args: string[],
  opts: { stdio?: Stdio; appendLog?: string; childProcess?: boolean } = {},
): Promise<InvokeResult> {
  const logPath = join(tmpdir(), `berth-runtime-${process.pid}-${++seq}-${randomBytes(4).toString('hex')}.log`);
  const cmd = build(['--log', logPath, '--log-format', 'json', ...args]);
  try {
    const { code, stdout, stderr } = !opts.childProcess && nativeSpawn() ? await runNative(cmd, opts.stdio) : await runChild(cmd, opts.stdio);
    // The log is a few lines: read, appended and removed synchronously (each a pool trip
    // otherwise, on every runtime call's path).
    let log = '';
    try {
      log = readFileSync(logPath, 'utf8');
    } catch {
      // the runtime wrote no log
    }
    if (opts.appendLog && log) appendFileSync(opts.appendLog, log);
    const error = lastError(log) ?? lastLine(stderr);
    return error === undefined ? { code, stdout } : { code, stdout, error };
  } finally {
    rmSync(logPath, { force: true });
  }
}

interface Ran {
  code: number;
  stdout: string;
  /** The last 8 KiB. */
  stderr: string;
}

/** Whether @berth/sys's spawn can be used (its addon is built, and recent enough to have it); decided once. */
let native: boolean | undefined;
function nativeSpawn(): boolean {
  if (native === undefined) {
    try {
      native = typeof loadSys().spawn === 'function';
    } catch {
      native = false;
    }
  }
  return native;
}

/**
 * The command through @berth/sys's spawn (no fork of this process, see spawn.c), reaped through
 * its pidfd. With `stdio`, the child's fds 0–2 are those and nothing is captured; without, stdin
 * is /dev/null and stdout/stderr are read until every holder has closed them. Unavailable when
 * the program does not exist.
 */
async function runNative(cmd: Command, stdio: Stdio | undefined): Promise<Ran> {
  const file = resolveBinaryCached(cmd.file);
  const opened: number[] = [];
  const pipeEnds = (): [number, number] => {
    const p = pipe();
    opened.push(...p);
    return p;
  };
  let child: { pid: number; pidfd: number };
  let out: [number, number] | undefined;
  let err: [number, number] | undefined;
  try {
    if (!stdio) {
      out = pipeEnds();
      err = pipeEnds();
    }
    const fds: [number | null, number | null, number | null] = stdio
      ? (stdio.map((t, i) => (t === 'ignore' ? null : t === 'inherit' ? i : t)) as [number | null, number | null, number | null])
      : [null, out![1], err![1]];
    child = spawnProcess(file, [cmd.argv0 ?? cmd.file, ...cmd.args], fds);
  } catch (e) {
    for (const fd of opened) closeSync(fd);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw unavailable(`runtime ${cmd.argv0 ?? cmd.file}: executable not found`, { cause: e });
    throw e;
  }
  // The child has its own copies of the write ends; the read ends go to readPipe, which closes them.
  if (out) closeSync(out[1]);
  if (err) closeSync(err[1]);
  const [status, stdout, stderr] = await Promise.all([
    waitPidfd(child.pidfd).finally(() => closeSync(child.pidfd)),
    out ? readPipe(out[0]) : '',
    err ? readPipe(err[0], 8192) : '',
  ]);
  return { code: status.exitCode, stdout, stderr };
}

/** Everything written to a pipe (its read end `fd`, closed after), until every writer closed it; at most the last `keep` characters. */
function readPipe(fd: number, keep = Infinity): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      if (text.length > keep) text = text.slice(-keep);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(text));
  });
}

const resolved = new Map<string, string>();
/** `resolveBinary`, remembered (the runtime is the same binary for every call). */
function resolveBinaryCached(binary: string): string {
  let path = resolved.get(binary);
  if (!path) resolved.set(binary, (path = resolveBinary(binary)));
  return path;
}

/** The command through child_process (where @berth/sys is not built). */
async function runChild(cmd: Command, stdio: Stdio | undefined): Promise<Ran> {
  const child = spawn(cmd.file, cmd.args, { stdio: stdio ?? ['ignore', 'pipe', 'pipe'], ...(cmd.argv0 && { argv0: cmd.argv0 }) });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
  // 'close' would wait for every holder of the pipes; the container may hold them, so wait for
  // 'exit' and then for our own pipes to drain only when we own them.
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? unavailable(`runtime ${cmd.argv0 ?? cmd.file}: executable not found`, { cause: err }) : err),
    );
    child.once(stdio ? 'exit' : 'close', (c: number | null, signal: NodeJS.Signals | null) =>
      resolve(c ?? 128 + (signal ? (osSignal(signal) ?? 0) : 0)),
    );
  });
  return { code, stdout, stderr };
}

function osSignal(signal: NodeJS.Signals): number | undefined {
  return (osConstants.signals as Record<string, number | undefined>)[signal];
}

/** The message of the last `error` or `fatal` line of a JSON log (runc and crun `--log-format json`). */
export function lastError(log: string): string | undefined {
  let found: string | undefined;
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) found = entry.msg;
    } catch {
      // a torn or foreign line; keep looking
    }
  }
  return found;
}

function lastLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1);
}

/**
 * The BerthError for a failed runtime call: NotFound for a missing container (runc: "container
 * does not exist"; crun: cannot open the container's `status` file or state directory), AlreadyExists for a taken
 * ID, FailedPrecondition for anything else. `what` names the call (`runc start web`).
 */
export function runtimeError(what: string, message: string): BerthError {
  const text = `${what}: ${message}`;
  if (/does not exist|not found|\/status`?: No such file or directory|cannot open directory .*: No such file or directory/i.test(message)) return notFound(text);
  if (/already exists/i.test(message)) return alreadyExists(text);
  return failedPrecondition(text);
}
