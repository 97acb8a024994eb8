import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLocalStore, type LocalContentStore } from '@berth/content';
import { kindOf, type ErrorKind } from '@berth/errdefs';
import { expect, onTestFinished } from 'vitest';
import { createMemoryImageStore, type MemoryImageStore } from '../image-store';

/** Test-only: a fresh temp dir removed when the test finishes. */
export async function tempDir(prefix = 'berth-images-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Test-only: a local content store and an in-memory image store in a temp dir. */
export async function stores(): Promise<{ content: LocalContentStore; images: MemoryImageStore; dir: string }> {
  const dir = await tempDir();
  return { content: createLocalStore({ root: join(dir, 'content') }), images: createMemoryImageStore(), dir };
}

/** Test-only: asserts that `promise` rejects with an error of `kind` and returns the error. */
export async function rejectsWithKind(promise: Promise<unknown>, kind: ErrorKind | ErrorKind[]): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  const kinds = Array.isArray(kind) ? kind : [kind];
  expect(kinds, `got ${kindOf(error)}: ${(error as Error).message}`).toContain(kindOf(error));
  return error as Error;
}

/** Test-only: a readable over one buffer. */
export const bufferStream = (data: Uint8Array): Readable => Readable.from([data], { objectMode: false });
