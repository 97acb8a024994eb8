import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDataLoss } from '@berth/errdefs';
import { createDigester, digestEncoded, digestOf, type Descriptor } from '@berth/spec';
import { createRegistryClient } from './client';
import { pushTree, readStream } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { startRegistry, type TestRegistry } from './test-support/registry-server';
import { startTcpProxy, type TcpProxy } from './test-support/tcp-proxy';

let registry: TestRegistry;
let image: TestImage;
let largest: Descriptor;

beforeAll(async () => {
  [registry, image] = await Promise.all([startRegistry(), loadImage('layers')]);
  largest = image.parsed.layers.reduce((a, b) => (b.size > a.size ? b : a));
  const client = createRegistryClient();
  await pushTree(client.pusher(`${registry.host}/test/layers`), image.manifest, image.source, { tag: 'v1' });
  client.close();
});
afterAll(async () => {
  await registry?.stop();
});

describe('a connection cut in the middle of a blob', () => {
  let proxy: TcpProxy;
  let cuts = 0;
  const ranges: string[] = [];
  const cutAt = 256 * 1024;

  beforeAll(async () => {
    proxy = await startTcpProxy(registry.host, {
      downstream: (chunk, before) => {
        if (cuts === 0 && before + chunk.length > cutAt) {
          cuts++;
          return 'cut';
        }
        return chunk;
      },
      upstream: (chunk) => {
        const m = /\r\nrange: (bytes=\d+-)\r\n/i.exec(chunk.toString('latin1'));
        if (m) ranges.push(m[1]!);
      },
    });
  });
  afterAll(() => proxy?.close());

  it('is resumed with a Range request and the digest verifies', async () => {
    expect(largest.size).toBeGreaterThan(4 * cutAt);
    const client = createRegistryClient({ retryDelay: 1 });
    try {
      const bytes = await readStream(await client.fetcher(`${proxy.host}/test/layers`).fetch(largest));
      expect(cuts).toBe(1);
      expect(ranges).toHaveLength(1);
      const from = Number(/\d+/.exec(ranges[0]!)![0]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(cutAt);
      expect(bytes.length).toBe(largest.size);
      expect(digestOf(bytes)).toBe(largest.digest);
    } finally {
      client.close();
    }
  });

  it('continues from an offset with a digester fed the first bytes', async () => {
    const client = createRegistryClient();
    try {
      const whole = await image.archive.read(largest);
      const offset = 12345;
      const digester = createDigester().update(whole.subarray(0, offset));
      const rest = await readStream(await client.fetcher(`${registry.host}/test/layers`).fetch(largest, { offset, digester }));
      expect(rest.equals(whole.subarray(offset))).toBe(true);

      const wrongPrefix = createDigester().update(Buffer.alloc(offset));
      const stream = await client.fetcher(`${registry.host}/test/layers`).fetch(largest, { offset, digester: wrongPrefix });
      const err = await readStream(stream).then(
        (bytes) => `resolved with ${bytes.length} bytes`,
        (e: unknown) => e,
      );
      expect(isDataLoss(err)).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe('a registry that serves wrong bytes', () => {
  let bad: TestRegistry;
  beforeAll(async () => {
    bad = await startRegistry();
    const client = createRegistryClient();
    await pushTree(client.pusher(`${bad.host}/test/layers`), image.manifest, image.source, { tag: 'v1' });
    client.close();
    const hex = digestEncoded(largest.digest);
    const file = join(bad.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const data = await readFile(file);
    data[data.length >> 1] ^= 0xff;
    await writeFile(file, data);
  });
  afterAll(() => bad?.stop());

  it('fails the stream with DataLoss before it ends', async () => {
    const client = createRegistryClient();
    try {
      const stream = await client.fetcher(`${bad.host}/test/layers`).fetch(largest);
      let ended = false;
      stream.on('end', () => (ended = true));
      let received = 0;
      const err = await (async () => {
        for await (const chunk of stream) received += (chunk as Buffer).length;
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDataLoss(err)).toBe(true);
      expect(ended).toBe(false);
      // The mismatch can only show at the end, past the corrupted middle; destroy() discards
      // what the consumer had not yet read, so the count need not reach the size.
      expect(received).toBeGreaterThan(largest.size / 2);
      expect(received).toBeLessThanOrEqual(largest.size);
    } finally {
      client.close();
    }
  });
});

describe('a slow consumer', () => {
  it('holds back the connection instead of buffering the blob', async () => {
    const client = createRegistryClient();
    try {
      expect(largest.size).toBeGreaterThan(4 << 20);
      const stream = await client.fetcher(`${registry.host}/test/layers`).fetch(largest);
      const it = stream[Symbol.asyncIterator]();
      const first = (await it.next()).value as Buffer;
      // Give the socket every chance to flood the stream's buffer if backpressure were ignored.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(stream.readableLength).toBeLessThan(1 << 20);
      const rest: Buffer[] = [first];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value as Buffer);
      expect(digestOf(Buffer.concat(rest))).toBe(largest.digest);
    } finally {
      client.close();
    }
  });
});

describe('a connection cut in the middle of a chunked upload', () => {
  it('is resumed from where the registry stands, and the pushed blob verifies', async () => {
    let cuts = 0;
    const patches: string[] = [];
    let statusQueries = 0;
    let sent = 0; // over every connection
    const cutAt = 200 * 1024; // inside the fourth 64 KiB chunk
    const proxy = await startTcpProxy(registry.host, {
      upstream: (chunk) => {
        const text = chunk.toString('latin1');
        for (const m of text.matchAll(/\r\ncontent-range: (\d+-\d+)\r\n/gi)) patches.push(m[1]!);
        if (/^GET \/v2\/[^ ]*\/blobs\/uploads\//.test(text)) statusQueries++;
        sent += chunk.length;
        if (cuts === 0 && sent > cutAt) {
          cuts++;
          return 'cut';
        }
        return undefined;
      },
    });
    const client = createRegistryClient({ retryDelay: 1 });
    try {
      const ref = `${proxy.host}/test/resumed-upload`;
      expect(largest.size).toBeGreaterThan(8 * 65536);
      expect(await client.pusher(ref).push(largest, () => image.source(largest), { chunkSize: 65536 })).toBe('uploaded');
      expect(cuts).toBe(1);
      expect(statusQueries).toBe(1);
      // Each range starts within or right after the one before it: a chunk the cut broke is sent
      // again from where the registry stood (or not at all if it had it all), nothing is skipped.
      const ranges = patches.map((r) => r.split('-').map(Number) as [number, number]);
      for (let i = 1; i < ranges.length; i++) {
        expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![0]);
        expect(ranges[i]![0]).toBeLessThanOrEqual(ranges[i - 1]![1] + 1);
      }
      expect(ranges[0]![0]).toBe(0);
      expect(ranges.at(-1)![1]).toBe(largest.size - 1);
      const direct = createRegistryClient();
      const bytes = await readStream(await direct.fetcher(`${registry.host}/test/resumed-upload`).fetch(largest)).finally(() => direct.close());
      expect(digestOf(bytes)).toBe(largest.digest);
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
