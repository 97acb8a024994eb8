import { ErrorKind } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { readBlob } from '../helpers';
import { bytes, expectKind, walkDigests, withStore, writeAll, type StoreFactory } from './context';

/** Ingest cases: write, commit, verification, AlreadyExists, resume, lock, truncate. */
export function ingestCases(factory: StoreFactory): void {
  const test = (name: string, body: Parameters<typeof withStore>[1]) => it(name, withStore(factory, body));

  describe('ingest', () => {
    test('write + commit + info + read round trip', async ({ store }) => {
      const data = bytes(300_000);
      const digest = digestOf(data);
      const writer = await store.writer({ ref: 'round-trip', total: data.length, expected: digest });
      await writeAll(writer, data);
      expect(await writer.commit({ size: data.length, expected: digest })).toBe(digest);
      const info = await store.info(digest);
      expect(info).toMatchObject({ digest, size: data.length, labels: {} });
      expect(info.createdAt).toBeInstanceOf(Date);
      expect(info.updatedAt.getTime()).toBeGreaterThanOrEqual(info.createdAt.getTime());
      expect((await readBlob(store, { digest })).equals(data)).toBe(true);
      await expectKind(store.status('round-trip'), ErrorKind.NotFound);
      expect(await store.listStatuses()).toEqual([]);
    });

    test('content is invisible until commit', async ({ store }) => {
      const data = bytes(10_000);
      const writer = await store.writer({ ref: 'invisible' });
      await writer.write(data);
      expect((await writer.status()).offset).toBe(data.length);
      await expectKind(store.info(digestOf(data)), ErrorKind.NotFound);
      await expectKind(store.readerAt({ digest: digestOf(data) }), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([]);
      await writer.close();
    });

    test('commit with the wrong size is FailedPrecondition and leaves nothing visible', async ({ store }) => {
      const data = bytes(10);
      const writer = await store.writer({ ref: 'bad-size' });
      await writer.write(data);
      await expectKind(writer.commit({ size: 12 }), ErrorKind.FailedPrecondition);
      await expectKind(store.info(digestOf(data)), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([]);
      // commit closed the writer even though it failed
      await expect(writer.write(data)).rejects.toThrow();
    });

    test('commit with the wrong digest is FailedPrecondition and leaves nothing visible', async ({ store }) => {
      const data = bytes(1000);
      const wrong = digestOf(bytes(1000));
      const writer = await store.writer({ ref: 'bad-digest', expected: wrong });
      await writer.write(data);
      await expectKind(writer.commit(), ErrorKind.FailedPrecondition);
      await expectKind(store.info(wrong), ErrorKind.NotFound);
      await expectKind(store.info(digestOf(data)), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([]);
    });

    test('writer with an already committed expected digest is AlreadyExists', async ({ store }) => {
      const data = bytes(2048);
      const w1 = await store.writer({ ref: 'first' });
      await w1.write(data);
      await w1.commit();
      await expectKind(store.writer({ ref: 'second', expected: digestOf(data) }), ErrorKind.AlreadyExists);
    });

    test('commit of content that already exists is AlreadyExists and removes the ingest', async ({ store }) => {
      const data = bytes(2048);
      const w1 = await store.writer({ ref: 'one' });
      await w1.write(data);
      const w2 = await store.writer({ ref: 'two' });
      await w2.write(data);
      expect(await w1.commit()).toBe(digestOf(data));
      await expectKind(w2.commit(), ErrorKind.AlreadyExists);
      await expectKind(store.status('two'), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([digestOf(data)]);
    });

    test('a writer without expected digest commits under the computed one', async ({ store }) => {
      const data = bytes(5000);
      const writer = await store.writer({ ref: 'computed' });
      await writeAll(writer, data, 999);
      expect(writer.digest()).toBe(digestOf(data));
      expect(await writer.commit()).toBe(digestOf(data));
      expect((await store.info(digestOf(data))).size).toBe(5000);
    });

    test('an empty blob commits', async ({ store }) => {
      const writer = await store.writer({ ref: 'empty' });
      expect(await writer.commit({ expected: digestOf(new Uint8Array(0)) })).toBe(digestOf(new Uint8Array(0)));
      expect((await store.info(digestOf(new Uint8Array(0)))).size).toBe(0);
    });

    test('ingests resume by ref at their offset', async ({ store }) => {
      const data = bytes(3 << 20);
      const digest = digestOf(data);
      const w1 = await store.writer({ ref: 'resume', total: data.length, expected: digest });
      await writeAll(w1, data.subarray(0, 1_234_567));
      await w1.close();
      expect((await store.status('resume')).offset).toBe(1_234_567);

      const w2 = await store.writer({ ref: 'resume', total: data.length, expected: digest });
      const status = await w2.status();
      expect(status).toMatchObject({ ref: 'resume', offset: 1_234_567, total: data.length, expected: digest });
      expect(w2.digest()).toBe(digestOf(data.subarray(0, 1_234_567)));
      await writeAll(w2, data.subarray(status.offset));
      expect(await w2.commit()).toBe(digest);
      expect((await readBlob(store, { digest })).equals(data)).toBe(true);
    });

    test('a resumed ingest keeps its total and expected digest', async ({ store }) => {
      const w1 = await store.writer({ ref: 'keep', total: 100 });
      await w1.write(bytes(10));
      await w1.close();
      await expectKind(store.writer({ ref: 'keep', total: 200 }), ErrorKind.FailedPrecondition);
      const w2 = await store.writer({ ref: 'keep' });
      expect((await w2.status()).total).toBe(100);
      await expectKind(w2.commit(), ErrorKind.FailedPrecondition); // 10 bytes, 100 announced
    });

    test('a second writer on a locked ref is Unavailable until the first closes', async ({ store }) => {
      const w1 = await store.writer({ ref: 'locked' });
      await w1.write(bytes(100));
      await expectKind(store.writer({ ref: 'locked' }), ErrorKind.Unavailable);
      await w1.close();
      const w2 = await store.writer({ ref: 'locked' });
      expect((await w2.status()).offset).toBe(100);
      await w2.close();
    });

    test('truncate(0) restarts the ingest', async ({ store }) => {
      const data = bytes(50_000);
      const writer = await store.writer({ ref: 'truncate', expected: digestOf(data) });
      await writer.write(bytes(70_000));
      await expectKind(writer.truncate(80_000), ErrorKind.OutOfRange);
      await writer.truncate(0);
      expect((await writer.status()).offset).toBe(0);
      expect(writer.digest()).toBe(digestOf(new Uint8Array(0)));
      await writeAll(writer, data);
      expect(await writer.commit()).toBe(digestOf(data));
    });

    test('writes not awaited one by one keep their order', async ({ store }) => {
      const chunks = Array.from({ length: 40 }, () => bytes(200_000));
      const writer = await store.writer({ ref: 'unawaited' });
      await Promise.all(chunks.map((c) => writer.write(c)));
      expect(await writer.commit()).toBe(digestOf(Buffer.concat(chunks)));
    });

    test('many small writes are coalesced correctly', async ({ store }) => {
      const data = bytes(1_000_003);
      const writer = await store.writer({ ref: 'small' });
      await writeAll(writer, data, 97);
      expect(await writer.commit({ size: data.length })).toBe(digestOf(data));
      expect((await readBlob(store, { digest: digestOf(data) })).equals(data)).toBe(true);
    });

    test('labels given at commit are visible with the blob', async ({ store }) => {
      const data = bytes(10);
      const writer = await store.writer({ ref: 'labelled' });
      await writer.write(data);
      await writer.commit({ labels: { 'containerd.io/gc.root': 'x', a: 'b' } });
      expect((await store.info(digestOf(data))).labels).toEqual({ 'containerd.io/gc.root': 'x', a: 'b' });
    });

    test('an aborted signal cancels the writer and keeps the ingest resumable', async ({ store }) => {
      const controller = new AbortController();
      const writer = await store.writer({ ref: 'signal', signal: controller.signal });
      await writer.write(bytes(1000));
      await writer.status();
      controller.abort();
      await expectKind(writer.write(bytes(10)), ErrorKind.Canceled);
      await expectKind(store.writer({ ref: 'x', signal: controller.signal }), ErrorKind.Canceled);
      // the lock is released (possibly after the close settles) and the data kept
      await new Promise((r) => setTimeout(r, 20));
      const again = await store.writer({ ref: 'signal' });
      expect((await again.status()).offset).toBe(1000);
      await again.close();
    });

    test('refs must not be empty', async ({ store }) => {
      await expectKind(store.writer({ ref: '' }), ErrorKind.InvalidArgument);
      await expectKind(store.status(''), ErrorKind.InvalidArgument);
      await expectKind(store.abort(''), ErrorKind.InvalidArgument);
    });
  });
}
