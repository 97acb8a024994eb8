import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { kindOf, type ErrorKind } from '@berth/errdefs';
import { expect, type TestContext } from 'vitest';
import { unmountAll, withMounts } from '../mount';
import type { Snapshotter } from '../types';

/** Builds a snapshotter on `root` for one test case; `cleanup` must release everything it holds. */
export type SnapshotterFactory = (root: string) => Promise<{ snapshotter: Snapshotter; cleanup(): Promise<void> }>;

/** What a test case gets: a fresh snapshotter on a fresh temp dir. */
export interface CaseContext {
  sn: Snapshotter;
  /** The snapshotter's root (inside `base`). */
  root: string;
  /** The per-case temp dir; mounts made by the helpers go here too. */
  base: string;
}

/** True when the process can mount (the fs cases need it). */
export const isRoot = process.getuid?.() === 0;

/**
 * Wraps a case body: fresh temp dir, snapshotter from the factory, body, cleanup. A cleanup
 * that throws fails the case (after a body error, the body error wins), and so does a mount
 * left under the temp dir (it is detached first). On failure the temp dir's tree is printed.
 * With `needsRoot`, the case is skipped with a reason when the process cannot mount.
 */
export function withSnapshotter(
  factory: SnapshotterFactory,
  body: (ctx: CaseContext) => Promise<void>,
  needsRoot = false,
): (t: TestContext) => Promise<void> {
  return async (t) => {
    if (needsRoot && !isRoot) t.skip('needs root: mounts snapshots');
    const base = await mkdtemp(join(tmpdir(), 'berth-snapshots-suite-'));
    const root = join(base, 'root');
    let failure: unknown;
    try {
      const { snapshotter, cleanup } = await factory(root);
      try {
        await body({ sn: snapshotter, root, base });
      } catch (err) {
        failure = err;
      }
      try {
        await cleanup();
      } catch (err) {
        failure ??= err;
      }
    } catch (err) {
      failure ??= err;
    }
    const leaked = await mountsUnder(base);
    for (const m of leaked.reverse()) await unmountAll(m).catch(() => {});
    if (leaked.length > 0) failure ??= new Error(`mounts left under ${base}: ${leaked.join(', ')}`);
    if (failure !== undefined) console.error(`snapshotter suite: temp dir ${base}:\n${(await listTree(base)).join('\n')}`);
    await rm(base, { recursive: true, force: true });
    if (failure !== undefined) throw failure;
  };
}

/** Mount points at or under `dir`, from /proc/self/mountinfo, in mount order. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Asserts that `promise` rejects with an error of `kind` (by kind, never by message). */
export async function expectKind(promise: Promise<unknown> | (() => unknown), kind: ErrorKind): Promise<unknown> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    error = err;
  }
  expect(error, `expected a ${kind} error`).toBeDefined();
  expect(kindOf(error)).toBe(kind);
  return error;
}

/** Changes to make in a mounted tree: a string writes a file (parents created), null deletes. */
export type Changes = Record<string, string | null>;

/** Applies `changes` under `dir`. */
export async function applyChanges(dir: string, changes: Changes): Promise<void> {
  for (const [path, content] of Object.entries(changes)) {
    const full = join(dir, path);
    if (content === null) await rm(full, { recursive: true });
    else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
}

/** Prepares `key` on `parent`, mounts it, applies `changes`, unmounts, and commits it as `name`. */
export async function commitLayer(ctx: CaseContext, name: string, parent: string | undefined, changes: Changes): Promise<void> {
  const key = `${name}-active`;
  const mounts = await ctx.sn.prepare(key, parent);
  await withMounts(mounts, (dir) => applyChanges(dir, changes), { tmpdir: ctx.base });
  await ctx.sn.commit(name, key);
}

/** Runs `fn` on a mounted read-only view of committed `name` (or an empty view), then removes the view. */
export async function withView<T>(ctx: CaseContext, name: string | undefined, fn: (dir: string) => Promise<T>): Promise<T> {
  const key = `view-${randomBytes(4).toString('hex')}`;
  const mounts = await ctx.sn.view(key, name);
  try {
    return await withMounts(mounts, fn, { tmpdir: ctx.base });
  } finally {
    await ctx.sn.remove(key);
  }
}

/** The files under `dir` (regular files: content; symlinks: `-> target`; dirs: `/`), by path. */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, path));
      if (st.isDirectory()) {
        out[`${path}/`] = '';
        await walk(path);
      } else if (st.isSymbolicLink()) out[path] = `-> ${await readlink(join(dir, path))}`;
      else out[path] = await readFile(join(dir, path), 'utf8');
    }
  };
  await walk('');
  return out;
}

/** Every path under `dir` (for the failure dump and for "left nothing behind" checks). */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return lines;
  }
  for (const name of names) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    lines.push(`  ${prefix}${name}${st?.isDirectory() ? '/' : ` (${st?.size ?? '?'} bytes)`}`);
    if (st?.isDirectory()) lines.push(...(await listTree(join(dir, name), `${prefix}${name}/`)));
  }
  return lines;
}
