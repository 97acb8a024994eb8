import { createReadStream } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import type { ContentReadStream, ContentStore, InfoProvider, Provider } from '@berth/content';
import { ErrorKind } from '@berth/errdefs';
import { writeBlob } from '@berth/content';
import { MediaType, defaultPlatform, onlyPlatformStrict, parseManifest, parsePlatform } from '@berth/spec';
import { imageReference, testImage } from '@berth/testimages';
import { describe, expect, it } from 'vitest';
import { exportArchive } from './export-archive';
import { importArchive } from './import-archive';
import { readDocument } from './read-document';
import { multiPlatformImage, readTarFile } from './test/archives';
import { rejectsWithKind, stores, bufferStream } from './test/helpers';
import type { Image } from './types';

/** Collects everything written to a Writable. */
function sink(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

/** Every digest of an image: target, config and layers. */
async function digestsOf(content: ContentStore, image: Image): Promise<string[]> {
  const m = parseManifest(await readDocument(content, image.target), image.target.mediaType);
  return [image.target.digest, m.config.digest, ...m.layers.map((l) => l.digest)];
}

describe.each([
  ['busybox', 'oci'],
  ['busybox', 'docker'],
  ['layers', 'oci'],
  ['layers', 'docker'],
] as const)('export %s imported from %s', (name, format) => {
  it('round trip: export then import keeps every digest, and the archive has what containerd writes', async () => {
    const built = await testImage(name, format);
    const a = await stores();
    await importArchive(a.content, a.images, createReadStream(built.path));
    const image = await a.images.get(imageReference(name));
    const { out, bytes } = sink();
    await exportArchive(a.content, [image], out);

    const files = await readTarFile(bytes());
    const names = files.map((f) => f.header.name);
    expect(names).toEqual([...names].sort());
    const m = parseManifest(await readDocument(a.content, image.target));
    const blobs = [image.target, m.config, ...m.layers].map((d) => `blobs/sha256/${d.digest.slice(7)}`);
    expect(names).toEqual(['blobs/', 'blobs/sha256/', ...[...blobs].sort(), 'index.json', 'manifest.json', 'oci-layout']);
    const file = (n: string) => files.find((f) => f.header.name === n)!.data.toString();
    expect(JSON.parse(file('oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(file('index.json'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': imageReference(name),
      'org.opencontainers.image.ref.name': 'latest',
    });
    expect(JSON.parse(file('manifest.json'))).toEqual([{ Config: blobs[1], RepoTags: [`${name}:latest`], Layers: blobs.slice(2) }]);

    const b = await stores();
    await importArchive(b.content, b.images, bufferStream(bytes()));
    const again = await b.images.get(imageReference(name));
    expect(await digestsOf(b.content, again)).toEqual(await digestsOf(a.content, image));
    expect(again.target.mediaType).toBe(format === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest);
  });
});

describe('export', () => {
  it('is deterministic: the same images give the same bytes', async () => {
    const built = await testImage('busybox', 'oci');
    const { content, images } = await stores();
    await importArchive(content, images, createReadStream(built.path));
    const list = await images.list();
    const one = sink();
    const two = sink();
    await exportArchive(content, list, one.out);
    await exportArchive(content, list, two.out);
    expect(one.bytes().equals(two.bytes())).toBe(true);
  });

  it('a target whose blob is missing is NotFound, and the output is destroyed', async () => {
    const built = await testImage('busybox', 'oci');
    const { content } = await stores();
    const out = new PassThrough();
    const image: Image = { name: 'x', target: built.manifest, labels: {}, createdAt: new Date(), updatedAt: new Date() };
    await rejectsWithKind(exportArchive(content, [image], out), ErrorKind.NotFound);
    expect(out.destroyed).toBe(true);
  });

  it('keeps memory bounded with a slow consumer: blobs are read only as fast as the output drains', async () => {
    const built = await testImage('layers', 'oci');
    const { content, images } = await stores();
    await importArchive(content, images, createReadStream(built.path));
    let read = 0;
    let written = 0;
    let maxAhead = 0;
    const counting: Provider & InfoProvider = {
      info: (d) => content.info(d),
      readerAt: async (desc) => {
        const reader = await content.readerAt(desc);
        return {
          size: reader.size,
          readAt: (b, p) => reader.readAt(b, p),
          read: (p, l) => reader.read(p, l),
          close: () => reader.close(),
          createReadStream: (o) => reader.createReadStream(o).on('data', (c: Buffer) => void (read += c.length)) as ContentReadStream,
        };
      },
    };
    const out = new Writable({
      highWaterMark: 64 << 10,
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        maxAhead = Math.max(maxAhead, read - written);
        setTimeout(cb, 0);
      },
    });
    await exportArchive(counting, await images.list(), out);
    expect(written).toBeGreaterThan(16 << 20);
    expect(maxAhead).toBeLessThan(4 << 20);
  }, 60_000);
});

describe('export: platforms of an index target', () => {
  it('exports the host platform’s manifest by default, every one with allPlatforms', async () => {
    const other = defaultPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
    const img = multiPlatformImage([{ architecture: defaultPlatform().architecture }, { architecture: other }]);
    const { content } = await stores();
    for (const [digest, data] of img.blobs) await writeBlob(content, `t-${digest}`, data, { digest, size: data.length });
    const image: Image = { name: 'example.com/multi:1', target: img.index, labels: {}, createdAt: new Date(), updatedAt: new Date() };
    const blobNames = async (options: Parameters<typeof exportArchive>[3]) => {
      const { out, bytes } = sink();
      await exportArchive(content, [image], out, options);
      return (await readTarFile(bytes())).map((f) => f.header.name).filter((n) => /^blobs\/sha256\/./.test(n));
    };
    const host = await blobNames({});
    const all = await blobNames({ allPlatforms: true });
    expect(host).toHaveLength(1 + 3);
    expect(host).toContain(`blobs/sha256/${img.manifests[0]!.digest.slice(7)}`);
    expect(host).not.toContain(`blobs/sha256/${img.manifests[1]!.digest.slice(7)}`);
    expect(all.sort()).toEqual([...img.blobs.keys()].map((d) => `blobs/sha256/${d.slice(7)}`).sort());
    await rejectsWithKind(blobNames({ platform: onlyPlatformStrict(parsePlatform('linux/ppc64le')) }), ErrorKind.NotFound);
  });
});
