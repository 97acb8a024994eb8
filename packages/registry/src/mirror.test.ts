import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '@berth/spec';
import { createRegistryClient } from './client';
import { pushTree, readStream } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { freePort, startRegistry, type TestRegistry } from './test-support/registry-server';

let registry: TestRegistry;
let image: TestImage;
let empty: Server;
let emptyHost: string;
const emptySeen: string[] = [];

beforeAll(async () => {
  [registry, image] = await Promise.all([startRegistry(), loadImage('busybox')]);
  const client = createRegistryClient();
  await pushTree(client.pusher(`${registry.host}/library/busybox`), image.manifest, image.source, { tag: 'latest' });
  client.close();
  // A mirror that has nothing: every request is a 404 (and is recorded).
  empty = createServer((req, res) => {
    emptySeen.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  });
  await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve));
  emptyHost = `127.0.0.1:${(empty.address() as { port: number }).port}`;
});
afterAll(async () => {
  await registry?.stop();
  await new Promise<void>((resolve) => empty?.close(() => resolve()));
});

describe('mirrors', () => {
  it('serve docker.io from a local mirror', async () => {
    const client = createRegistryClient({ hosts: { 'docker.io': { mirrors: [{ url: `http://${registry.host}` }] } } });
    try {
      const { name, descriptor } = await client.resolve('busybox');
      expect(name).toBe('docker.io/library/busybox:latest');
      expect(descriptor.digest).toBe(image.manifest.digest);
      const config = await readStream(await client.fetcher('busybox').fetch(image.parsed.config));
      expect(digestOf(config)).toBe(image.parsed.config.digest);
    } finally {
      client.close();
    }
  });

  it('fall back to the next one when a mirror is down or lacks the content, passing the namespace', async () => {
    const dead = await freePort();
    const client = createRegistryClient({
      retries: 0,
      hosts: {
        'docker.io': {
          mirrors: [{ url: `http://127.0.0.1:${dead}` }, { url: `http://${emptyHost}` }, { url: `http://${registry.host}` }],
        },
      },
    });
    try {
      expect((await client.resolve('docker.io/library/busybox:latest')).descriptor.digest).toBe(image.manifest.digest);
      const layer = image.parsed.layers[0]!;
      expect(digestOf(await readStream(await client.fetcher('busybox').fetch(layer)))).toBe(layer.digest);
      expect(emptySeen).toContain('HEAD /v2/library/busybox/manifests/latest?ns=docker.io');
      expect(emptySeen).toContain(`GET /v2/library/busybox/blobs/${layer.digest}?ns=docker.io`);
    } finally {
      client.close();
    }
  });

  it('are not pushed to: a push goes to the server', async () => {
    const client = createRegistryClient({
      hosts: { 'mirrored.test': { server: `http://${registry.host}`, mirrors: [{ url: `http://${emptyHost}` }] } },
    });
    try {
      emptySeen.length = 0;
      const config = image.parsed.config;
      expect(await client.pusher('mirrored.test/pushed/here').push(config, () => image.source(config))).toBe('uploaded');
      expect(emptySeen).toEqual([]);
    } finally {
      client.close();
    }
  });
});
