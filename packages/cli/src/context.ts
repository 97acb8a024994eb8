import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CONTAINER_NAME_LABEL,
  ContainersClient,
  ImagesClient,
  TasksClient,
  connect,
  type Connection,
  type ContainerRecord,
  type ProcessState,
} from '@berth/client';
import { CliError } from './errors';
import type { Globals } from './globals';

/** A connection and the clients the commands use. */
export interface Ctx {
  g: Globals;
  conn: Connection;
  containers: ContainersClient;
  tasks: TasksClient;
  images: ImagesClient;
}

/** Connects to berthd (lazily: the first call dials). Close with `ctx.conn.close()`. */
export function open(g: Globals): Ctx {
  const conn = connect(g.address, { namespace: g.namespace });
  return { g, conn, containers: new ContainersClient(conn), tasks: new TasksClient(conn), images: new ImagesClient(conn) };
}

/** Runs `fn` with a context and closes the connection after. */
export async function withCtx<T>(g: Globals, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
  const ctx = open(g);
  try {
    return await fn(ctx);
  } finally {
    ctx.conn.close();
  }
}

/** A container's name (its `berth/name` label, else its short id). */
export function nameOf(c: ContainerRecord): string {
  return c.labels[CONTAINER_NAME_LABEL] ?? c.id.slice(0, 12);
}

/**
 * Finds a container as Docker does: by full id, by name, then by unique id prefix. Exit 1 with
 * "No such container" when none matches, and an ambiguity error when a prefix matches several.
 */
export async function findContainer(ctx: Ctx, ref: string): Promise<ContainerRecord> {
  const all = await ctx.containers.list();
  const exact = all.find((c) => c.id === ref) ?? all.find((c) => c.labels[CONTAINER_NAME_LABEL] === ref.replace(/^\//, ''));
  if (exact) return exact;
  const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((c) => c.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new CliError(`multiple containers match the prefix ${ref}: use more of the id`);
  throw new CliError(`Error response from daemon: No such container: ${ref}`);
}

/**
 * Docker's way with `CONTAINER...` arguments: `fn` runs for each in turn; one that succeeds
 * prints its reference, one that fails prints its error, and the rest still run. Resolves with
 * the exit code: 1 if any failed.
 */
export async function forEachContainer(ctx: Ctx, refs: string[], fn: (c: ContainerRecord, ref: string) => Promise<void>): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      await fn(await findContainer(ctx, ref), ref);
      process.stdout.write(`${ref}\n`);
    } catch (err) {
      process.stderr.write(`berth: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  return code;
}

/** The container's task (init process), or undefined when it has none. */
export async function taskOf(ctx: Ctx, id: string): Promise<ProcessState | undefined> {
  try {
    return await ctx.tasks.get({ containerId: id });
  } catch (err) {
    if ((err as { kind?: string }).kind === 'NotFound') return undefined;
    throw err;
  }
}

/** The directory berth keeps a container's logs in: next to berthd's socket, `containers/<ns>/<id>`. */
export function containerDir(g: Globals, id: string, create = false): string {
  const dir = join(dirname(g.address), 'containers', g.namespace, id);
  if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The stdout and stderr log files of a container. */
export function logFiles(g: Globals, id: string): { stdout: string; stderr: string } {
  const dir = containerDir(g, id);
  return { stdout: join(dir, 'stdout.log'), stderr: join(dir, 'stderr.log') };
}

/** The directory client FIFOs are made in (as containerd's `/run/containerd/fifo`). */
export function fifoRoot(g: Globals): string {
  return join(dirname(g.address), 'fifo');
}

/** Signal names and numbers (Linux x86/arm). */
export const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15,
  STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

/** `SIGTERM`, `TERM`, `15` → 15. Exit 125-style usage error for an unknown signal. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const n = SIGNALS[s.toUpperCase().replace(/^SIG/, '')];
  if (n === undefined) throw new CliError(`invalid signal: ${s}`, 125);
  return n;
}

/** Docker's "2 minutes ago" / "About an hour ago". */
export function ago(d: Date, now = Date.now()): string {
  return `${duration(now - d.getTime())} ago`;
}

/** Docker's human durations ("Less than a second", "5 seconds", "About a minute", "3 hours"). */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  const d = Math.round(h / 24);
  if (d < 14) return `${d} days`;
  return `${Math.round(d / 7)} weeks`;
}

/** `1.05MB` as Docker prints sizes (decimal units). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0).replace(/\.?0+$/, '')}${units[i]}`;
}

/** Left-aligned columns separated by three spaces, as Docker's tables. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/**
 * Renders `--format`: `json` (one JSON object per line), `table` (the default), or a Go-template
 * subset: `{{.Field}}`, `{{json .}}`, `{{json .Field}}`, and `\t`/`\n` escapes.
 */
export function formatItem(format: string, item: Record<string, unknown>): string {
  if (format === 'json' || format === '{{json .}}') return JSON.stringify(item);
  return format
    .replace(/\{\{\s*json\s+\.([A-Za-z]+)\s*\}\}/g, (_, k: string) => JSON.stringify(item[k]))
    .replace(/\{\{\s*\.([A-Za-z]+)\s*\}\}/g, (_, k: string) => (item[k] === undefined ? '<no value>' : String(item[k])))
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
}
