import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindOf, type ErrorKind } from '@berth/errdefs';
import { expect } from 'vitest';
import type { ContentStore, Writer } from '../types';

/** Builds a store on `root` for one test case; `cleanup` must release everything it holds. */
export type StoreFactory = (root: string) => Promise<{ store: ContentStore; cleanup(): Promise<void> }>;

/** Options of `contentStoreSuite`. */
export interface SuiteOptions {
  /**
   * Absolute path (or file URL) of an ES module exporting `createStore(root): ContentStore |
   * Promise<ContentStore>`, imported by child processes for the cross-process cases (a crashed
   * writer resumed by a new process, a lock held by another process). Without it those cases skip.
   */
  childModule?: string;
  /**
   * Whether `status()` reports the `expected` digest an ingest's writer announced (default true).
   * The local store records it; containerd's Content API never reports it (its Write service does
   * not bind an ingest to a digest), so a store behind that API sets this to false.
   */
  statusReportsExpected?: boolean;
}

/** What a test case gets: a fresh store on a fresh temp dir. */
export interface CaseContext {
  store: ContentStore;
  /** The store's root (inside `base`). */
  root: string;
  /** A per-case scratch directory, removed afterwards. */
  base: string;
}

/**
 * Wraps a case body: makes a fresh temp dir, builds the store, runs the body, then cleans up.
 * A cleanup that throws fails the test (after a body error, the body error wins). On failure
 * the temp dir's listing is printed, to help diagnose.
 */
export function withStore(factory: StoreFactory, body: (ctx: CaseContext) => Promise<void>): () => Promise<void> {
  return async () => {
    const base = await mkdtemp(join(tmpdir(), 'berth-content-suite-'));
    const root = join(base, 'store');
    let failure: unknown;
    try {
      const { store, cleanup } = await factory(root);
      try {
        await body({ store, root, base });
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
    if (failure !== undefined) console.error(`content suite: temp dir ${base}:\n${(await listTree(base)).join('\n')}`);
    await rm(base, { recursive: true, force: true });
    if (failure !== undefined) throw failure;
  };
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

/** `size` random bytes. */
export function bytes(size: number): Buffer {
  return randomBytes(size);
}

/** Writes `data` in chunks of `chunk` bytes. */
export async function writeAll(writer: Writer, data: Uint8Array, chunk = 64 << 10): Promise<void> {
  for (let i = 0; i < data.byteLength; i += chunk) await writer.write(data.subarray(i, Math.min(i + chunk, data.byteLength)));
}

/** The digests of every blob `walk` reports for the filters. */
export async function walkDigests(store: ContentStore, ...filters: string[]): Promise<string[]> {
  const found: string[] = [];
  await store.walk((info) => {
    found.push(info.digest);
  }, ...filters);
  return found.sort();
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const lines: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return lines;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    lines.push(`  ${prefix}${name}${st?.isDirectory() ? '/' : ` (${st?.size ?? '?'} bytes)`}`);
    if (st?.isDirectory()) lines.push(...(await listTree(path, `${prefix}${name}/`)));
  }
  return lines;
}
