import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { writeBlob } from '../helpers';
import { bytes, expectKind, withStore, type StoreFactory } from './context';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Provider cases: random access, ranges, OutOfRange, stream backpressure. */
export function readCases(factory: StoreFactory): void {
  const test = (name: string, body: Parameters<typeof withStore>[1]) => it(name, withStore(factory, body));

  describe('provider', () => {
    test('random-access reads', async ({ store }) => {
      const data = bytes(1_000_000);
      const digest = await writeBlob(store, 'ra', data);
      const reader = await store.readerAt({ digest });
      try {
        expect(reader.size).toBe(data.length);
        for (const [pos, len] of [[0, 10], [999_990, 10], [123_456, 65_536], [500_000, 1], [7, 0]] as const) {
          expect((await reader.read(pos, len)).equals(data.subarray(pos, pos + len))).toBe(true);
          const buffer = Buffer.alloc(len);
          expect(await reader.readAt(buffer, pos)).toBe(len);
          expect(buffer.equals(data.subarray(pos, pos + len))).toBe(true);
        }
        // short at the end, empty at the end, everything from an offset
        expect((await reader.read(999_995, 100)).equals(data.subarray(999_995))).toBe(true);
        expect(await reader.readAt(Buffer.alloc(10), data.length)).toBe(0);
        expect((await reader.read(900_000)).equals(data.subarray(900_000))).toBe(true);
      } finally {
        await reader.close();
      }
    });

    test('reading past the end is OutOfRange', async ({ store }) => {
      const digest = await writeBlob(store, 'oor', bytes(100));
      const reader = await store.readerAt({ digest });
      try {
        await expectKind(reader.readAt(Buffer.alloc(1), 101), ErrorKind.OutOfRange);
        await expectKind(reader.read(5000, 1), ErrorKind.OutOfRange);
        await expectKind(() => reader.createReadStream({ start: 101 }), ErrorKind.OutOfRange);
      } finally {
        await reader.close();
      }
    });

    test('read streams cover the requested range', async ({ store }) => {
      const data = bytes(700_000);
      const digest = await writeBlob(store, 'range', data);
      const reader = await store.readerAt({ digest });
      const collect = async (stream: AsyncIterable<Buffer>) => {
        const parts: Buffer[] = [];
        for await (const part of stream) parts.push(part);
        return Buffer.concat(parts);
      };
      try {
        expect((await collect(reader.createReadStream())).equals(data)).toBe(true);
        expect((await collect(reader.createReadStream({ start: 1000, end: 299_999 }))).equals(data.subarray(1000, 300_000))).toBe(true);
        expect((await collect(reader.createReadStream({ start: data.length }))).length).toBe(0);
        expect((await collect(reader.createReadStream({ start: 10, end: 10 }))).equals(data.subarray(10, 11))).toBe(true);
      } finally {
        await reader.close();
      }
    });

    test('a slow consumer keeps the read stream bounded (backpressure)', async ({ store }) => {
      const size = 8 << 20;
      const chunkSize = 64 << 10;
      const bound = 4 * chunkSize; // buffered + one read in flight, with slack
      const data = bytes(size);
      const digest = await writeBlob(store, 'slow', data);
      const reader = await store.readerAt({ digest });
      try {
        const stream = reader.createReadStream({ chunkSize });
        let consumed = 0;
        let maxAhead = 0;
        const parts: Buffer[] = [];
        for await (const part of stream as AsyncIterable<Buffer>) {
          parts.push(part);
          consumed += part.length;
          if (consumed === chunkSize) await sleep(100); // a stalled consumer: the stream must stop reading
          else if (parts.length % 16 === 0) await sleep(2);
          maxAhead = Math.max(maxAhead, stream.bytesRead - consumed);
          expect(stream.bytesRead - consumed).toBeLessThanOrEqual(bound);
        }
        expect(consumed).toBe(size);
        expect(stream.bytesRead).toBe(size);
        expect(maxAhead).toBeGreaterThan(0);
        expect(Buffer.concat(parts).equals(data)).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });
}
