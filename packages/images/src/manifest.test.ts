import { writeBlob, type ContentStore } from '@berth/content';
import { ErrorKind } from '@berth/errdefs';
import { MediaType, digestOf, onlyPlatform, onlyPlatformStrict, parsePlatform, type Descriptor } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { gcLabelsFor } from './gc-labels';
import { allPlatforms, imageRootFS, imageSize, resolveManifest } from './manifest';
import { jsonBlob, multiPlatformImage } from './test/archives';
import { rejectsWithKind, stores } from './test/helpers';
import { errSkipDesc, errStopHandler, handlers, walk, walkImage } from './walk';

async function put(content: ContentStore, blobs: Map<string, Buffer>): Promise<void> {
  for (const [digest, data] of blobs) await writeBlob(content, `test-${digest}`, data, { digest, size: data.length });
}

// An index with amd64, arm64/v8 and a bogus entry (a platform nobody runs, pointing at nothing).
const bogus: Descriptor = { mediaType: MediaType.OciManifest, digest: digestOf('bogus'), size: 5, platform: { os: 'linux', architecture: 's390x' } };
const image = () => multiPlatformImage([{ architecture: 'amd64' }, { architecture: 'arm64', variant: 'v8' }], [bogus]);
const host = (p: string) => onlyPlatform(parsePlatform(p));

describe('resolveManifest', () => {
  it.each([
    ['linux/amd64', 0],
    ['linux/arm64', 1],
    ['linux/arm64/v8', 1],
  ])('picks the manifest for %s from a multi-platform index', async (platform, which) => {
    const img = image();
    const { content } = await stores();
    await put(content, img.blobs);
    const found = await resolveManifest(content, img.index, host(platform));
    expect(found.manifestDesc.digest).toBe(img.manifests[which]!.digest);
    expect(found.config.architecture).toBe(platform.split('/')[1]);
    expect(await imageRootFS(content, img.index, host(platform))).toEqual(found.config.rootfs.diff_ids);
  });

  it.each(['linux/arm/v7', 'linux/ppc64le', 'windows/amd64'])('no match for %s is NotFound (the bogus entry is never read)', async (platform) => {
    const img = image();
    const { content } = await stores();
    await put(content, img.blobs);
    await rejectsWithKind(resolveManifest(content, img.index, host(platform)), ErrorKind.NotFound);
  });

  it('prefers the best compatible platform whatever the order: amd64 over 386 on an amd64 host', async () => {
    const img = multiPlatformImage([{ architecture: '386' }, { architecture: 'amd64' }]);
    const { content } = await stores();
    await put(content, img.blobs);
    expect((await resolveManifest(content, img.index, host('linux/amd64'))).manifestDesc.digest).toBe(img.manifests[1]!.digest);
    expect((await resolveManifest(content, img.index, onlyPlatformStrict(parsePlatform('linux/386')))).manifestDesc.digest).toBe(img.manifests[0]!.digest);
  });

  it('a manifest without a platform is matched by its config', async () => {
    const img = image();
    const { content } = await stores();
    await put(content, img.blobs);
    const arm = { ...img.manifests[1]! };
    delete arm.platform;
    expect((await resolveManifest(content, arm, host('linux/arm64'))).manifestDesc.digest).toBe(arm.digest);
    await rejectsWithKind(resolveManifest(content, arm, host('linux/amd64')), ErrorKind.NotFound);
  });

  it('a missing manifest blob is NotFound; a config that is not an image config, or a target of another type, InvalidArgument', async () => {
    const { content } = await stores();
    await rejectsWithKind(resolveManifest(content, { ...bogus, platform: undefined } as Descriptor, allPlatforms), ErrorKind.NotFound);
    const cfg = jsonBlob('application/vnd.example.thing+json', {});
    const m = jsonBlob(MediaType.OciManifest, { schemaVersion: 2, config: cfg.desc, layers: [] });
    await put(content, new Map([[cfg.desc.digest, cfg.data], [m.desc.digest, m.data]]));
    await rejectsWithKind(resolveManifest(content, m.desc, allPlatforms), ErrorKind.InvalidArgument);
    await rejectsWithKind(resolveManifest(content, cfg.desc, allPlatforms), ErrorKind.InvalidArgument);
  });
});

describe('imageSize', () => {
  it('counts the index, the best manifest for the platform, its config and layers', async () => {
    const img = image();
    const { content } = await stores();
    await put(content, img.blobs);
    const m = img.manifests[0]!;
    const manifest = JSON.parse(img.blobs.get(m.digest)!.toString());
    const expected = img.index.size + m.size + manifest.config.size + manifest.layers[0].size;
    expect(await imageSize(content, img.index, host('linux/amd64'))).toBe(expected);
  });
});

describe('walk', () => {
  const d = (s: string): Descriptor => ({ mediaType: 'x', digest: digestOf(s), size: 1 });
  const tree: Record<string, string[]> = { root: ['a', 'b'], a: ['a1'], b: ['b1'] };
  const names = new Map(Object.keys({ ...tree, a1: 1, b1: 1 }).map((n) => [digestOf(n) as string, n]));
  const kids = (desc: Descriptor) => (tree[names.get(desc.digest)!] ?? []).map(d);

  it('visits depth first; errSkipDesc skips the children; errStopHandler ends a handlers() chain', async () => {
    const seen: string[] = [];
    await walk(async (desc) => {
      const n = names.get(desc.digest)!;
      seen.push(n);
      if (n === 'a') throw errSkipDesc;
      return kids(desc);
    }, d('root'));
    expect(seen).toEqual(['root', 'a', 'b', 'b1']);

    const after: string[] = [];
    await walk(
      handlers(
        (desc) => kids(desc),
        (desc) => {
          if (names.get(desc.digest) === 'b') throw errStopHandler;
        },
        (desc) => void after.push(names.get(desc.digest)!),
      ),
      d('root'),
    );
    expect(after).toEqual(['root', 'a', 'a1', 'b1']);
    await expect(walk(() => Promise.reject(new Error('boom')), d('root'))).rejects.toThrow('boom');
  });

  it('walkImage reaches index, manifests for the platform, configs and layers', async () => {
    const img = image();
    const { content } = await stores();
    await put(content, img.blobs);
    const types: string[] = [];
    await walkImage(content, img.index, (desc) => void types.push(desc.mediaType), { platform: host('linux/arm64') });
    expect(types).toEqual([MediaType.OciIndex, MediaType.OciManifest, MediaType.OciConfig, MediaType.OciLayer]);
  });
});

describe('gcLabelsFor', () => {
  it('labels manifests m.<i>, the config, layers l.<i>, anything else content.<i>', () => {
    const desc = (mediaType: string, s: string): Descriptor => ({ mediaType, digest: digestOf(s), size: 1 });
    const children = [
      desc(MediaType.DockerConfig, 'c'),
      desc(MediaType.OciLayerGzip, 'l0'),
      desc('application/vnd.docker.image.rootfs.diff.tar', 'l1'),
      desc(MediaType.OciManifest, 'm0'),
      desc(MediaType.DockerManifest, 'm1'),
      desc(MediaType.OciIndex, 'i0'),
    ];
    expect(gcLabelsFor(desc(MediaType.OciIndex, 'p'), children)).toEqual({
      'containerd.io/gc.ref.content.config': digestOf('c'),
      'containerd.io/gc.ref.content.l.0': digestOf('l0'),
      'containerd.io/gc.ref.content.l.1': digestOf('l1'),
      'containerd.io/gc.ref.content.m.0': digestOf('m0'),
      'containerd.io/gc.ref.content.m.1': digestOf('m1'),
      'containerd.io/gc.ref.content.0': digestOf('i0'),
    });
    expect(gcLabelsFor(desc(MediaType.OciManifest, 'p'), [])).toEqual({});
  });
});
