import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalStore } from './index';

// These check the kernel hints the local writer gives for large ingests (disk-hints.ts): they
// are invisible to the store's contract, so only the file system shows them.

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-content-hints-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const dataFile = (ref: string) => join(root, 'ingest', createHash('sha256').update(ref).digest('hex'), 'data');

/** Bytes of `file` in the page cache, from util-linux's fincore. */
function cachedBytes(file: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' }).trim());
}

describe('disk hints of the local writer', () => {
  it('preallocates a known total without changing the ingest offset', async () => {
    const store = createLocalStore({ root });
    const w = await store.writer({ ref: 'big', total: 64 << 20 });
    const st = await stat(dataFile('big'));
    expect(st.size).toBe(0);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(64 << 20);
    expect((await store.status('big')).offset).toBe(0);
    await w.close();
  });

  it('does not preallocate when the total is unknown', async () => {
    const store = createLocalStore({ root });
    const w = await store.writer({ ref: 'unknown' });
    expect((await stat(dataFile('unknown'))).blocks).toBe(0);
    await w.close();
  });

  it.skipIf(!existsSync('/usr/bin/fincore'))('drops synced ranges of a large ingest from the page cache, keeps small blobs cached', async () => {
    const store = createLocalStore({ root });
    const chunk = randomBytes(1 << 20);
    const total = 160 << 20;
    const w = await store.writer({ ref: 'large', total });
    for (let i = 0; i < total / chunk.length; i++) await w.write(chunk);
    const digest = await w.commit({ size: total });
    const blob = join(root, 'blobs', 'sha256', digest.slice('sha256:'.length));
    // At least the first 64 MiB sync interval was written back and dropped.
    expect(cachedBytes(blob)).toBeLessThanOrEqual(total - (64 << 20));

    const small = await store.writer({ ref: 'small' });
    await small.write(randomBytes(1 << 20));
    const smallDigest = await small.commit();
    expect(cachedBytes(join(root, 'blobs', 'sha256', smallDigest.slice('sha256:'.length)))).toBe(1 << 20);
  });
});
