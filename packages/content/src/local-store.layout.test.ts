import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalStore, readBlob, writeBlob } from './index';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-content-local-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const kind = (p: Promise<unknown>) => p.then(() => 'resolved', kindOf);
const ingestDir = (ref: string) => join(root, 'ingest', createHash('sha256').update(ref).digest('hex'));

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('local store on disk', () => {
  it('lays out blobs, labels and ingests as documented', async () => {
    const store = createLocalStore({ root });
    const data = randomBytes(1000);
    const w = await store.writer({ ref: 'layout' });
    await w.write(data);
    await w.status();
    expect((await readdir(ingestDir('layout'))).sort()).toEqual(['data', 'lock', 'meta.json']);
    const digest = await w.commit({ labels: { a: 'b' } });
    const blob = join(root, 'blobs', 'sha256', digest.slice('sha256:'.length));
    expect((await readFile(blob)).equals(data)).toBe(true);
    expect((await stat(blob)).mode & 0o222).toBe(0); // read-only
    expect(await readdir(join(root, 'ingest'))).toEqual([]);
    expect(JSON.parse(await readFile(join(root, 'labels', 'sha256', `${digest.slice(7)}.json`), 'utf8')).labels).toEqual({ a: 'b' });
  });

  it('keeps labels and ingests across store instances, and locks across them', async () => {
    const one = createLocalStore({ root });
    const digest = await writeBlob(one, 'a', randomBytes(10), {}, { labels: { k: 'v' } });
    const w = await one.writer({ ref: 'shared' });
    await w.write(randomBytes(5));
    const two = createLocalStore({ root });
    expect((await two.info(digest)).labels).toEqual({ k: 'v' });
    expect(await kind(two.writer({ ref: 'shared' }))).toBe(ErrorKind.Unavailable);
    await w.close();
    const w2 = await two.writer({ ref: 'shared' });
    expect((await w2.status()).offset).toBe(5);
    await w2.close();
  });

  it('takes over a lock left by a dead process, and a torn lock file', async () => {
    const store = createLocalStore({ root });
    const w = await store.writer({ ref: 'stale' });
    await w.write(randomBytes(7));
    await w.close();
    await writeFile(join(ingestDir('stale'), 'lock'), JSON.stringify({ pid: deadPid(), token: 'x' }));
    const w2 = await store.writer({ ref: 'stale' });
    expect((await w2.status()).offset).toBe(7);
    await w2.close();

    await writeFile(join(ingestDir('stale'), 'lock'), '');
    expect(await kind(store.writer({ ref: 'stale' }))).toBe(ErrorKind.Unavailable); // may be mid-creation
    const old = new Date(Date.now() - 60_000);
    await utimes(join(ingestDir('stale'), 'lock'), old, old);
    await (await store.writer({ ref: 'stale' })).close();

    await writeFile(join(ingestDir('stale'), 'lock'), JSON.stringify({ pid: process.pid, token: 'live' }));
    expect(await kind(store.writer({ ref: 'stale' }))).toBe(ErrorKind.Unavailable);
    expect(await kind(store.abort('stale'))).toBe(ErrorKind.Unavailable);
  });

  it('recovers from a crash between publishing and removing the ingest', async () => {
    const store = createLocalStore({ root });
    const w = await store.writer({ ref: 'half', total: 3 });
    await w.close();
    await rm(join(ingestDir('half'), 'data')); // as if the data had been published and the process died
    expect((await store.status('half')).offset).toBe(0);
    const again = await store.writer({ ref: 'half' });
    await again.write(Buffer.from('abc'));
    expect(await again.commit()).toBe(digestOf(Buffer.from('abc')));
  });

  it('does not attach labels left by an interrupted delete to a new commit', async () => {
    const store = createLocalStore({ root });
    const data = randomBytes(20);
    const hex = digestOf(data).slice(7);
    await mkdir(join(root, 'labels', 'sha256'), { recursive: true });
    await writeFile(join(root, 'labels', 'sha256', `${hex}.json`), JSON.stringify({ labels: { stale: 'yes' } }));
    const digest = await writeBlob(store, 'fresh', data);
    expect((await store.info(digest)).labels).toEqual({});
  });

  it('an open reader survives a delete of its blob', async () => {
    const store = createLocalStore({ root });
    const data = randomBytes(4096);
    const digest = await writeBlob(store, 'r', data);
    const reader = await store.readerAt({ digest });
    await store.delete(digest);
    expect((await reader.read(0)).equals(data)).toBe(true);
    await reader.close();
    expect(await kind(readBlob(store, { digest }))).toBe(ErrorKind.NotFound);
  });

  it('verifies an expected sha512 digest', async () => {
    const store = createLocalStore({ root });
    const data = randomBytes(100);
    const expected = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    expect(await writeBlob(store, 's', data, { digest: expected })).toBe(expected);
    expect((await store.info(expected)).size).toBe(100);
  });
});
