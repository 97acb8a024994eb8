import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { ErrorKind } from '@berth/errdefs';
import { Label, MediaType, defaultPlatform, digestOf, type Descriptor } from '@berth/spec';
import { imageReference, testImage, type BuiltImage } from '@berth/testimages';
import { describe, expect, it } from 'vitest';
import type { ContentStore } from '@berth/content';
import { importArchive } from './import-archive';
import { readTarFile, rewriteTar, writeTar, multiPlatformImage } from './test/archives';
import { bufferStream, rejectsWithKind, stores } from './test/helpers';
import { DockerLayerTar } from './docker-archive';
import { defaultImportPrefix } from './names';

/** Every blob is present with its size, and its bytes hash to its digest. */
async function expectBlob(content: ContentStore, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<void> {
  const info = await content.info(desc.digest);
  expect(info.size).toBe(desc.size);
  const reader = await content.readerAt(desc);
  const hash = createHash('sha256');
  try {
    for await (const chunk of reader.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await reader.close();
  }
  expect(`sha256:${hash.digest('hex')}`).toBe(desc.digest);
}

/** The Docker schema 2 manifest containerd writes for a docker-archive, in Go's field order. */
function containerdDockerManifest(built: BuiltImage): Buffer {
  const d = (x: Descriptor): string => `{"mediaType":"${x.mediaType}","digest":"${x.digest}","size":${x.size}}`;
  return Buffer.from(
    `{"schemaVersion":2,"mediaType":"${MediaType.DockerManifest}","config":${d({ ...built.config, mediaType: MediaType.DockerConfig })},` +
      `"layers":[${built.layers.map((l) => d({ ...l, mediaType: DockerLayerTar })).join(',')}]}`,
  );
}

describe.each(['busybox', 'layers'] as const)('import %s', (name) => {
  it('oci-archive: the record targets the pinned manifest; every blob is present and verified; gc labels set', async () => {
    const built = await testImage(name, 'oci');
    const { content, images } = await stores();
    const result = await importArchive(content, images, createReadStream(built.path));
    expect(result.index.digest).toBe(built.index);
    expect(result.images.map((i) => i.name)).toEqual([imageReference(name)]);
    const image = await images.get(imageReference(name));
    expect(image.target.digest).toBe(built.manifest.digest);
    expect(image.target.mediaType).toBe(MediaType.OciManifest);
    for (const desc of [built.manifest, built.config, ...built.layers]) await expectBlob(content, desc);
    const manifestLabels = (await content.info(built.manifest.digest)).labels;
    expect(manifestLabels[Label.GcRefContentConfig]).toBe(built.config.digest);
    built.layers.forEach((l, i) => expect(manifestLabels[`containerd.io/gc.ref.content.l.${i}`]).toBe(l.digest));
    expect((await content.info(built.index!)).labels['containerd.io/gc.ref.content.m.0']).toBe(built.manifest.digest);
  });

  it('docker-archive: a Docker schema 2 manifest with containerd’s bytes over the archive’s config and layer tars', async () => {
    const built = await testImage(name, 'docker');
    const { content, images } = await stores();
    const result = await importArchive(content, images, createReadStream(built.path));
    const image = await images.get(imageReference(name));
    const expected = containerdDockerManifest(built);
    expect(image.target.digest).toBe(digestOf(expected));
    expect(image.target.digest).toBe(built.manifest.digest);
    expect(image.target.mediaType).toBe(MediaType.DockerManifest);
    expect(image.target.platform).toEqual({ os: 'linux', architecture: defaultPlatform().architecture });
    expect((await content.info(image.target.digest)).size).toBe(expected.length);
    for (const desc of [built.config, ...built.layers]) await expectBlob(content, desc);
    expect(built.layers.every((l) => l.digest === built.diffIds[built.layers.indexOf(l)])).toBe(true);
    const index = JSON.parse((await readBlobText(content, result.index)));
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': imageReference(name),
      'org.opencontainers.image.ref.name': 'latest',
    });
    const labels = (await content.info(image.target.digest)).labels;
    expect(labels[Label.GcRefContentConfig]).toBe(built.config.digest);
  });

  it('importing twice is idempotent: same records, same createdAt, same blobs', async () => {
    const built = await testImage(name, 'oci');
    const { content, images } = await stores();
    await importArchive(content, images, createReadStream(built.path));
    const first = await images.list();
    const blobs: string[] = [];
    await content.walk((info) => void blobs.push(info.digest));
    await importArchive(content, images, createReadStream(built.path));
    const second = await images.list();
    expect(second.map((i) => [i.name, i.target, i.createdAt])).toEqual(first.map((i) => [i.name, i.target, i.createdAt]));
    const again: string[] = [];
    await content.walk((info) => void again.push(info.digest));
    expect(again.sort()).toEqual(blobs.sort());
    expect(await content.listStatuses()).toEqual([]);
  });
});

async function readBlobText(content: ContentStore, desc: Descriptor): Promise<string> {
  const reader = await content.readerAt(desc);
  try {
    return (await reader.read(0)).toString('utf8');
  } finally {
    await reader.close();
  }
}

describe('import: entry order and naming', () => {
  it('docker-archive with manifest.json first and layer tars last gives the same image', async () => {
    const built = await testImage('busybox', 'docker');
    const files = await readTarFile(built.path);
    const reordered = [...files.filter((f) => f.header.name === 'manifest.json'), ...files.filter((f) => f.header.name !== 'manifest.json').reverse()];
    expect(reordered[reordered.length - 1]!.header.name).not.toBe('manifest.json');
    const tar = await writeTar(reordered.filter((f) => f.header.type === 'file').map((f) => ({ name: f.header.name, data: f.data })));
    const { content, images } = await stores();
    await importArchive(content, images, bufferStream(tar));
    expect((await images.get(imageReference('busybox'))).target.digest).toBe(digestOf(containerdDockerManifest(built)));
  });

  it('a tag-only ref name gets the import-<date> prefix by default, or <prefix>:<tag>; indexName and digests add records', async () => {
    const built = await testImage('busybox', 'oci');
    const strip = (f: Awaited<ReturnType<typeof readTarFile>>[number]) => {
      if (f.header.name !== 'index.json') return f;
      const index = JSON.parse(f.data.toString());
      delete index.manifests[0].annotations['io.containerd.image.name'];
      return { ...f, data: Buffer.from(JSON.stringify(index)) };
    };
    const tar = await rewriteTar(built.path, strip);

    const a = await stores();
    await importArchive(a.content, a.images, bufferStream(tar));
    expect((await a.images.list()).map((i) => i.name)).toEqual([`${defaultImportPrefix()}:latest`]);

    const b = await stores();
    const { index } = await importArchive(b.content, b.images, bufferStream(tar), { prefix: 'example.com/mine', indexName: 'whole', digests: true });
    const names = (await b.images.list()).map((i) => [i.name, i.target.digest]);
    expect(names).toEqual(
      [
        ['example.com/mine:latest', built.manifest.digest],
        [`example.com/mine@${built.manifest.digest}`, built.manifest.digest],
        ['whole', index.digest],
      ].sort(),
    );
  });
});

const expectNoRecords = async (images: { list(): Promise<unknown[]> }) => expect(await images.list()).toEqual([]);

describe('import: bad archives change no image record', () => {
  it('a truncated archive is InvalidArgument', async () => {
    const built = await testImage('layers', 'oci');
    const whole = await import('node:fs/promises').then((fs) => fs.readFile(built.path));
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(whole.subarray(0, Math.floor(whole.length * 0.6)))), ErrorKind.InvalidArgument);
    await expectNoRecords(images);
  });

  it('an archive cut at an entry boundary after the blobs (no end marker) is InvalidArgument', async () => {
    const built = await testImage('busybox', 'oci');
    const files = await readTarFile(built.path);
    const blobs = files.filter((f) => f.header.type === 'file' && f.header.name.startsWith('blobs/'));
    const cut = await writeTar(blobs.map((f) => ({ name: f.header.name, data: f.data })));
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(cut.subarray(0, cut.length - 1024))), ErrorKind.InvalidArgument);
    await expectNoRecords(images);
  });

  it('a blob whose bytes do not match its path digest fails verification in the store', async () => {
    const built = await testImage('busybox', 'oci');
    const configPath = `blobs/sha256/${built.config.digest.slice(7)}`;
    const tar = await rewriteTar(built.path, (f) => {
      if (f.header.name !== configPath) return f;
      const data = Buffer.from(f.data);
      data[data.length - 2] ^= 1;
      return { ...f, data };
    });
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(tar)), [ErrorKind.FailedPrecondition, ErrorKind.InvalidArgument]);
    await expectNoRecords(images);
    await expect(content.info(built.config.digest)).rejects.toThrow();
  });

  it.each(['../evil', 'blobs/../../evil', '/etc/passwd'])('an entry named %s is InvalidArgument', async (bad) => {
    const built = await testImage('busybox', 'oci');
    const files = await readTarFile(built.path);
    const tar = await writeTar([{ name: bad, data: 'x' }, ...files.filter((f) => f.header.type === 'file').map((f) => ({ name: f.header.name, data: f.data }))]);
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(tar)), ErrorKind.InvalidArgument);
    await expectNoRecords(images);
  });

  it('a symlink leaving the archive is InvalidArgument', async () => {
    const tar = await writeTar([{ name: 'layer.tar', type: 'symlink', linkname: '../../etc/shadow' }]);
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(tar)), ErrorKind.InvalidArgument);
  });

  it('a manifest referencing a blob not in the archive is InvalidArgument', async () => {
    const built = await testImage('busybox', 'oci');
    const layerPath = `blobs/sha256/${built.layers[0]!.digest.slice(7)}`;
    const tar = await rewriteTar(built.path, (f) => (f.header.name === layerPath ? undefined : f));
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(tar)), ErrorKind.InvalidArgument);
    await expectNoRecords(images);
  });

  it.each([
    ['neither oci-layout nor manifest.json', [{ name: 'hello.txt', data: 'hi' }]],
    ['an unknown layout version', [{ name: 'oci-layout', data: '{"imageLayoutVersion":"9.9.9"}' }, { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' }]],
    ['a layout without index.json', [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }]],
    ['a malformed index.json', [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: '{"schemaVersion":2,"manifests":{}}' }]],
    ['a malformed manifest.json', [{ name: 'manifest.json', data: '{"Config":1}' }]],
    ['manifest.json naming a missing config', [{ name: 'manifest.json', data: '[{"Config":"nope.json","RepoTags":["a:b"],"Layers":[]}]' }]],
    ['garbage', [{ name: 'x', data: '' }]],
  ])('%s is InvalidArgument', async (what, files) => {
    const tar = what === 'garbage' ? Buffer.alloc(1024, 0x41) : await writeTar(files);
    const { content, images } = await stores();
    await rejectsWithKind(importArchive(content, images, bufferStream(tar)), ErrorKind.InvalidArgument);
    await expectNoRecords(images);
  });
});

describe('import: platforms of a multi-platform index', () => {
  it('checks and labels only the host platform unless allPlatforms; a missing other-platform manifest is then InvalidArgument', async () => {
    const other = defaultPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
    const missing: Descriptor = { mediaType: MediaType.OciManifest, digest: digestOf('not here'), size: 8, platform: { os: 'linux', architecture: 's390x' } };
    const img = multiPlatformImage([{ architecture: defaultPlatform().architecture }, { architecture: other }], [missing]);
    const index = JSON.parse(img.blobs.get(img.index.digest)!.toString());
    const layout = [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ ...img.index, annotations: { 'io.containerd.image.name': 'example.com/multi:1' } }] }) },
      ...[...img.blobs].map(([d, data]) => ({ name: `blobs/sha256/${d.slice(7)}`, data })),
    ];
    expect(index.manifests).toHaveLength(3);
    const tar = await writeTar(layout);
    const a = await stores();
    await importArchive(a.content, a.images, bufferStream(tar));
    expect((await a.images.get('example.com/multi:1')).target.digest).toBe(img.index.digest);
    const labels = (await a.content.info(img.index.digest)).labels;
    expect(Object.values(labels)).toEqual([img.manifests[0]!.digest]);

    const b = await stores();
    await rejectsWithKind(importArchive(b.content, b.images, bufferStream(tar), { allPlatforms: true }), ErrorKind.InvalidArgument);
    await expectNoRecords(b.images);
  });
});

describe('import: backpressure', () => {
  it('pulls the archive only as fast as the content store takes it', async () => {
    const built = await testImage('layers', 'docker');
    const { content, images } = await stores();
    let pulled = 0;
    let written = 0;
    let maxAhead = 0;
    // A content store whose writers are slow; everything else goes straight to the real one.
    const slow = new Proxy(content, {
      get(target, key) {
        if (key === 'writer') {
          return async (opts: Parameters<ContentStore['writer']>[0]) => {
            const w = await target.writer(opts);
            return Object.assign(Object.create(null), {
              ref: w.ref,
              digest: () => w.digest(),
              status: () => w.status(),
              truncate: (n: number) => w.truncate(n),
              commit: (o?: Parameters<typeof w.commit>[0]) => w.commit(o),
              close: () => w.close(),
              write: async (chunk: Uint8Array) => {
                written += chunk.length;
                maxAhead = Math.max(maxAhead, pulled - written);
                await new Promise((resolve) => setTimeout(resolve, 1));
                return w.write(chunk);
              },
            });
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const source = createReadStream(built.path, { highWaterMark: 64 << 10 }).on('data', (c) => void (pulled += c.length));
    await importArchive(slow, images, source);
    expect(written).toBeGreaterThan(32 << 20);
    expect(maxAhead).toBeLessThan(4 << 20);
  }, 60_000);
});
