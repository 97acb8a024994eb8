import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCanceled, isDataLoss, isInvalidArgument, isNotFound } from '@berth/errdefs';
import { MediaType, digestOf, parseIndex, parseManifest, platformMatcher, type Descriptor } from '@berth/spec';
import { createRegistryClient } from './client';
import { pushTree, readStream } from './helpers';
import type { RegistryClient } from './types';
import { document, loadImage, withDocuments, type TestImage } from './test-support/images';
import { startRegistry, type TestRegistry } from './test-support/registry-server';

let registry: TestRegistry;
let image: TestImage;
let client: RegistryClient;

beforeAll(async () => {
  [registry, image] = await Promise.all([startRegistry(), loadImage('busybox')]);
  client = createRegistryClient({ retryDelay: 1 });
});
afterAll(async () => {
  client?.close();
  await registry?.stop();
});

async function fetchAll(ref: string, desc: Descriptor): Promise<Buffer> {
  return readStream(await client.fetcher(ref).fetch(desc));
}

describe('plain HTTP on 127.0.0.1, no configuration', () => {
  it('pushes an image and pulls back the same digests', async () => {
    const ref = `${registry.host}/test/busybox:v1`;
    const results = await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
    expect([...results.values()].every((r) => r === 'uploaded')).toBe(true);
    expect(results.size).toBe(image.blobs.length + 1);

    const { name, descriptor } = await client.resolve(ref);
    expect(name).toBe(ref);
    expect(descriptor).toEqual({ mediaType: MediaType.OciManifest, digest: image.manifest.digest, size: image.manifest.size });

    const manifest = parseManifest(await fetchAll(ref, descriptor), descriptor.mediaType);
    expect(manifest).toEqual(image.parsed);
    for (const blob of [manifest.config, ...manifest.layers]) {
      const bytes = await fetchAll(ref, blob);
      expect(digestOf(bytes)).toBe(blob.digest);
      expect(bytes.equals(await image.archive.read(blob))).toBe(true);
    }
  });

  it('resolves by digest and skips what the registry already has', async () => {
    const ref = `${registry.host}/test/busybox@${image.manifest.digest}`;
    await pushTree(client.pusher(`${registry.host}/test/busybox`), image.manifest, image.source, { tag: 'v1' });
    const again = await pushTree(client.pusher(ref), image.manifest, image.source);
    expect([...again.values()]).toEqual(Array(image.blobs.length + 1).fill('exists'));
    expect((await client.resolve(ref)).descriptor.digest).toBe(image.manifest.digest);
    expect((await client.resolve(ref)).name).toBe(ref);
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    await pushTree(client.pusher(`${registry.host}/test/busybox`), image.manifest, image.source);
    const layer = image.parsed.layers[0]!;
    const pusher = client.pusher(`${registry.host}/other/mounted`);
    let opened = 0;
    const result = await pusher.push(layer, () => (opened++, image.source(layer)), { mountFrom: ['test/busybox'] });
    expect(result).toBe('mounted');
    expect(opened).toBe(0);
    expect(digestOf(await fetchAll(`${registry.host}/other/mounted`, layer))).toBe(layer.digest);
  });

  it('uploads in chunks', async () => {
    const layer = image.parsed.layers[0]!;
    const ref = `${registry.host}/test/chunked`;
    expect(layer.size).toBeGreaterThan(3 * 65536);
    expect(await client.pusher(ref).push(layer, () => image.source(layer), { chunkSize: 65536 })).toBe('uploaded');
    expect(digestOf(await fetchAll(ref, layer))).toBe(layer.digest);
  });

  it('refuses to upload content that does not match its descriptor', async () => {
    const config = image.parsed.config;
    const wrong = Buffer.from(await image.archive.read(config));
    wrong[0] ^= 1;
    const err = await client.pusher(`${registry.host}/test/wrong`).push(config, wrong).catch((e: unknown) => e);
    expect(isDataLoss(err)).toBe(true);
    await expect(client.fetcher(`${registry.host}/test/wrong`).fetch(config)).rejects.toSatisfy(isNotFound);
  });

  it('chooses the manifest for a platform from a multi-platform index', async () => {
    const manifest = JSON.parse((await image.archive.read(image.manifest)).toString('utf8')) as Record<string, unknown>;
    const arm = document(MediaType.OciManifest, { ...manifest, annotations: { 'org.example.variant': 'arm64' } });
    const index = document(MediaType.OciIndex, {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...image.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.desc, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    });
    const ref = `${registry.host}/test/multi:latest`;
    const docs = new Map([[arm.desc.digest, arm.bytes], [index.desc.digest, index.bytes]]);
    await pushTree(client.pusher(ref), index.desc, withDocuments(image.source, docs), { tag: 'latest' });

    const { descriptor } = await client.resolve(`${registry.host}/test/multi`);
    expect(descriptor).toEqual(index.desc);
    const parsed = parseIndex(await fetchAll(ref, descriptor), descriptor.mediaType);
    const pick = (architecture: string): Descriptor | undefined => {
      const m = platformMatcher({ os: 'linux', architecture });
      return parsed.manifests.find((d) => d.platform && m.match(d.platform));
    };
    expect(pick('arm64')?.digest).toBe(arm.desc.digest);
    expect(pick('amd64')?.digest).toBe(image.manifest.digest);
    expect(pick('s390x')).toBeUndefined();
    const chosen = parseManifest(await fetchAll(ref, pick('arm64')!), MediaType.OciManifest);
    expect(chosen.annotations).toEqual({ 'org.example.variant': 'arm64' });
  });

  it('gives NotFound for a missing tag, repository or blob, and InvalidArgument for a bad reference', async () => {
    await expect(client.resolve(`${registry.host}/test/busybox:nope`)).rejects.toSatisfy(isNotFound);
    await expect(client.resolve(`${registry.host}/no/such:v1`)).rejects.toSatisfy(isNotFound);
    const missing = { mediaType: MediaType.OciLayerGzip, digest: digestOf('missing'), size: 7 };
    await expect(client.fetcher(`${registry.host}/test/busybox`).fetch(missing)).rejects.toSatisfy(isNotFound);
    await expect(client.resolve('Bad//ref')).rejects.toSatisfy(isInvalidArgument);
  });

  it('cancels a fetch through its AbortSignal', async () => {
    const layer = image.parsed.layers[0]!;
    const ac = new AbortController();
    const stream = await client.fetcher(`${registry.host}/test/busybox`).fetch(layer, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    ac.abort();
    let received = 0;
    const err = await (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return undefined;
        received += (r.value as Buffer).length;
      }
    })().catch((e: unknown) => e);
    expect(isCanceled(err)).toBe(true);
    expect(received).toBeLessThan(layer.size);
  });
});

describe('redirects and retries', () => {
  let front: Server;
  let frontHost: string;
  const seen: string[] = [];
  let failNext = 0;

  beforeAll(async () => {
    await pushTree(client.pusher(`${registry.host}/test/busybox`), image.manifest, image.source, { tag: 'v1' });
    // Sends every request on to the registry with a redirect, as a registry does to blob storage,
    // after answering 503 to the first `failNext` requests.
    front = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`);
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      res.writeHead(307, { Location: `http://${registry.host}${req.url}` }).end();
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontHost = `127.0.0.1:${(front.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => front.close(() => resolve())));

  it('follows a redirect to another origin and verifies what it gets there', async () => {
    const layer = image.parsed.layers[0]!;
    const bytes = await readStream(await client.fetcher(`${frontHost}/test/busybox`).fetch(layer));
    expect(digestOf(bytes)).toBe(layer.digest);
    expect(seen).toContain(`GET /v2/test/busybox/blobs/${layer.digest} `);
  });

  it('retries on 503 with backoff', async () => {
    seen.length = 0;
    failNext = 2;
    const { descriptor } = await client.resolve(`${frontHost}/test/busybox:v1`);
    expect(descriptor.digest).toBe(image.manifest.digest);
    expect(seen.filter((s) => s.startsWith('HEAD /v2/test/busybox/manifests/v1'))).toHaveLength(3);
  });
});
