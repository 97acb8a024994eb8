import { ErrorKind } from '@berth/errdefs';
import { digestOf, type Digest } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { exists, writeBlob } from '../helpers';
import type { ContentStore } from '../types';
import { bytes, expectKind, walkDigests, withStore, type StoreFactory, type SuiteOptions } from './context';

async function put(store: ContentStore, data: Uint8Array, labels?: Record<string, string>): Promise<Digest> {
  return writeBlob(store, `put-${digestOf(data)}`, data, {}, labels ? { labels } : {});
}

/** Status, abort, info/update/walk/delete and argument validation cases. */
export function managerCases(factory: StoreFactory, { statusReportsExpected: reportsExpected = true }: SuiteOptions = {}): void {
  const test = (name: string, body: Parameters<typeof withStore>[1]) => it(name, withStore(factory, body));

  describe('ingest manager', () => {
    test('status and listStatuses with filters', async ({ store }) => {
      const expected = digestOf(bytes(8));
      const before = Date.now();
      const a = await store.writer({ ref: 'layer-a', total: 10, expected });
      await a.write(bytes(4));
      const b = await store.writer({ ref: 'layer-b' });
      await b.write(bytes(7));
      await Promise.all([a.close(), b.close()]);

      const status = await store.status('layer-a');
      expect(status).toMatchObject({ ref: 'layer-a', offset: 4, total: 10, ...(reportsExpected ? { expected } : {}) });
      expect(status.startedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(status.updatedAt.getTime()).toBeGreaterThanOrEqual(status.startedAt.getTime() - 1000);
      const refs = async (...filters: string[]) => (await store.listStatuses(...filters)).map((s) => s.ref).sort();
      expect(await refs()).toEqual(['layer-a', 'layer-b']);
      expect(await refs('')).toEqual(['layer-a', 'layer-b']);
      expect(await refs('ref==layer-b')).toEqual(['layer-b']);
      expect(await refs('ref~=a$')).toEqual(['layer-a']);
      expect(await refs('ref==layer-a', 'ref==layer-b')).toEqual(['layer-a', 'layer-b']);
      expect(await refs('ref==nothing')).toEqual([]);
      await expectKind(store.listStatuses('ref=='), ErrorKind.InvalidArgument);
      await expectKind(store.status('missing'), ErrorKind.NotFound);
    });

    test('abort removes the ingest', async ({ store }) => {
      const w = await store.writer({ ref: 'doomed' });
      await w.write(bytes(100));
      await expectKind(store.abort('doomed'), ErrorKind.Unavailable); // a live writer holds it
      await w.close();
      await store.abort('doomed');
      await expectKind(store.status('doomed'), ErrorKind.NotFound);
      expect(await store.listStatuses()).toEqual([]);
      await expectKind(store.abort('doomed'), ErrorKind.NotFound);
      const fresh = await store.writer({ ref: 'doomed' });
      expect((await fresh.status()).offset).toBe(0);
      await fresh.close();
    });
  });

  describe('manager', () => {
    test('update labels through fieldpaths', async ({ store }) => {
      const digest = await put(store, bytes(64), { keep: '1', drop: '2' });
      const created = await store.info(digest);
      await new Promise((r) => setTimeout(r, 5));

      let info = await store.update({ digest, labels: { added: 'yes', drop: '' } }, ['labels.added', 'labels.drop']);
      expect(info.labels).toEqual({ keep: '1', added: 'yes' });
      expect(info.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect(info.createdAt.getTime()).toBe(created.createdAt.getTime());
      expect((await store.info(digest)).labels).toEqual({ keep: '1', added: 'yes' });

      info = await store.update({ digest, labels: { only: 'this', empty: '' } }, ['labels']);
      expect(info.labels).toEqual({ only: 'this' });
      info = await store.update({ digest, labels: { other: 'x' } });
      expect(info.labels).toEqual({ other: 'x' });
      info = await store.update({ digest }, ['labels.other']);
      expect(info.labels).toEqual({});
      expect((await store.info(digest)).labels).toEqual({});
    });

    test('update rejects immutable and unknown fieldpaths, bad labels and unknown blobs', async ({ store }) => {
      const digest = await put(store, bytes(64), { a: 'b' });
      for (const path of ['digest', 'size', 'createdAt', 'created_at', 'nonsense']) {
        await expectKind(store.update({ digest, labels: {} }, [path]), ErrorKind.InvalidArgument);
      }
      await expectKind(store.update({ digest, labels: { k: 'v'.repeat(4096) } }, ['labels.k']), ErrorKind.InvalidArgument);
      await expectKind(store.update({ digest: digestOf(bytes(1)), labels: { a: 'b' } }), ErrorKind.NotFound);
      expect((await store.info(digest)).labels).toEqual({ a: 'b' });
    });

    test('walk with filters', async ({ store }) => {
      const d1 = await put(store, bytes(10), { team: 'red', 'containerd.io/gc.root': 'x' });
      const d2 = await put(store, bytes(20), { team: 'blue' });
      const d3 = await put(store, bytes(30));
      expect(await walkDigests(store)).toEqual([d1, d2, d3].sort());
      expect(await walkDigests(store, '')).toEqual([d1, d2, d3].sort());
      expect(await walkDigests(store, 'labels.team==red')).toEqual([d1]);
      expect(await walkDigests(store, 'labels.team')).toEqual([d1, d2].sort());
      expect(await walkDigests(store, 'labels')).toEqual([d1, d2].sort());
      expect(await walkDigests(store, 'labels."containerd.io/gc.root"')).toEqual([d1]);
      expect(await walkDigests(store, `digest==${d3}`)).toEqual([d3]);
      expect(await walkDigests(store, 'size==20')).toEqual([d2]);
      expect(await walkDigests(store, 'labels.team==red', `digest==${d3}`)).toEqual([d1, d3].sort());
      expect(await walkDigests(store, 'labels.team==red,size==20')).toEqual([]);
      expect(await walkDigests(store, 'labels.team!=red')).toEqual([d2, d3].sort());
      await expectKind(store.walk(() => {}, 'labels.team=='), ErrorKind.InvalidArgument);
    });

    test('delete makes the blob NotFound', async ({ store }) => {
      const data = bytes(100);
      const digest = await put(store, data, { a: 'b' });
      expect(await exists(store, digest)).toBe(true);
      await store.delete(digest);
      expect(await exists(store, digest)).toBe(false);
      await expectKind(store.info(digest), ErrorKind.NotFound);
      await expectKind(store.readerAt({ digest }), ErrorKind.NotFound);
      await expectKind(store.delete(digest), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([]);
      // a re-commit does not bring back the old labels
      await put(store, data);
      expect((await store.info(digest)).labels).toEqual({});
    });

    test('an invalid digest is InvalidArgument everywhere', async ({ store }) => {
      for (const bad of ['', 'sha256:xyz', 'nonsense', 'md5:d41d8cd98f00b204e9800998ecf8427e', `sha256:${'A'.repeat(64)}`]) {
        await expectKind(store.info(bad), ErrorKind.InvalidArgument);
        await expectKind(store.readerAt({ digest: bad as Digest }), ErrorKind.InvalidArgument);
        await expectKind(store.delete(bad), ErrorKind.InvalidArgument);
        await expectKind(store.update({ digest: bad as Digest, labels: {} }), ErrorKind.InvalidArgument);
        await expectKind(exists(store, bad), ErrorKind.InvalidArgument);
      }
      await expectKind(store.writer({ ref: 'x', expected: 'sha256:nope' }), ErrorKind.InvalidArgument);
    });

    test('writeBlob treats AlreadyExists as success and resumes a matching ingest', async ({ store }) => {
      const data = bytes(2 << 20);
      const digest = digestOf(data);
      const partial = await store.writer({ ref: 'helper', expected: digest });
      await partial.write(data.subarray(0, 700_000));
      await partial.close();
      expect(await writeBlob(store, 'helper', data, { digest, size: data.length })).toBe(digest);
      expect(await writeBlob(store, 'again', data, { digest, size: data.length })).toBe(digest);
      expect(await writeBlob(store, 'again-no-digest', data)).toBe(digest);
      // a stream source and an ingest whose prefix differs: restarted, still correct
      const other = bytes(300_000);
      const stale = await store.writer({ ref: 'stream' });
      await stale.write(bytes(1000));
      await stale.close();
      async function* chunks() {
        for (let i = 0; i < other.length; i += 65536) yield other.subarray(i, i + 65536);
      }
      expect(await writeBlob(store, 'stream', chunks(), { size: other.length })).toBe(digestOf(other));
      await expectKind(writeBlob(store, 'short', bytes(10), { size: 11 }), ErrorKind.FailedPrecondition);
    });
  });
}
