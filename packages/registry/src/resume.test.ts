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
