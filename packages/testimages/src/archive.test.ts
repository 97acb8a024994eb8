import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MediaType, type Descriptor } from '@berth/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from './build';
import { BUSYBOX_APPLETS, BUSYBOX_PATH } from './busybox';
import { DOCKER_LAYER_TAR } from './docker-archive';
import { hostArchitecture } from './platform';
import { FIXED_MTIME } from './tar-writer';
import { json, readTar, record, sha256, type TarRecord } from './test-support';
import type { BuiltImage, ImageName } from './types';

interface Built {
  oci: BuiltImage;
  docker: BuiltImage;
  ociTar: Map<string, TarRecord>;
  dockerTar: Map<string, TarRecord>;
}

let dir: string;
const images = {} as Record<ImageName, Built>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-testimages-archive-'));
  for (const name of ['busybox', 'layers'] as const) {
    const oci = await buildImage(name, 'oci', join(dir, `${name}-oci.tar`));
    const docker = await buildImage(name, 'docker', join(dir, `${name}-docker.tar`));
    images[name] = { oci, docker, ociTar: await readTar(oci.path), dockerTar: await readTar(docker.path) };
  }
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blob = (tar: Map<string, TarRecord>, desc: Descriptor): Buffer => {
  const data = record(tar, `blobs/sha256/${desc.digest.slice('sha256:'.length)}`).data;
  expect(data.length, `size of ${desc.digest}`).toBe(desc.size);
  expect(sha256(data)).toBe(desc.digest);
  return data;
};

describe.each(['busybox', 'layers'] as const)('%s', (name) => {
  it('oci-archive: oci-layout, index.json → manifest → config → layers, every blob verified', () => {
    const { oci, ociTar } = images[name];
    const names = [...ociTar.keys()];
    expect(names).toEqual([...names].sort());
    expect(json(ociTar, 'oci-layout')).toEqual({ imageLayoutVersion: '1.0.0' });
    for (const r of ociTar.values()) {
      expect([r.header.uid, r.header.gid, r.header.mtime?.getTime()]).toEqual([0, 0, FIXED_MTIME * 1000]);
    }
    const indexBytes = record(ociTar, 'index.json').data;
    expect(sha256(indexBytes)).toBe(oci.index);
    const index = JSON.parse(indexBytes.toString());
    expect(index.schemaVersion).toBe(2);
    expect(index.manifests).toHaveLength(1);
    const [desc] = index.manifests;
    expect(desc.annotations).toEqual({
      'io.containerd.image.name': `docker.io/library/${name}:latest`,
      'org.opencontainers.image.ref.name': 'latest',
    });
    expect({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }).toEqual(oci.manifest);

    const manifest = JSON.parse(blob(ociTar, oci.manifest).toString());
    expect(manifest.mediaType).toBe(MediaType.OciManifest);
    expect(manifest.config).toEqual(oci.config);
    expect(manifest.config.mediaType).toBe(MediaType.OciConfig);
    expect(manifest.layers).toEqual(oci.layers);
    const config = JSON.parse(blob(ociTar, oci.config).toString());
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: oci.diffIds });
    expect(config.history).toHaveLength(oci.layers.length);
    expect(config.os).toBe('linux');
    expect(config.created).toBe('2024-01-01T00:00:00Z');
    oci.layers.forEach((layer, i) => {
      const data = blob(ociTar, layer);
      const uncompressed = layer.mediaType === MediaType.OciLayerGzip ? gunzipSync(data) : data;
      if (layer.mediaType === MediaType.OciLayerGzip) {
        // No file name, mtime 0, Unix: nothing of the build host in the gzip header.
        expect([...data.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
      } else {
        expect(layer.mediaType).toBe(MediaType.OciLayer);
      }
      expect(sha256(uncompressed)).toBe(oci.diffIds[i]);
    });
    const blobs = names.filter((n) => n.startsWith('blobs/sha256/'));
    expect(blobs).toHaveLength(2 + oci.layers.length);

    const [compat] = json(ociTar, 'manifest.json');
    expect(compat.RepoTags).toEqual([`${name}:latest`]);
    expect(compat.Config).toBe(`blobs/sha256/${oci.config.digest.slice(7)}`);
    expect(compat.Layers).toEqual(oci.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
  });

  it('docker-archive: manifest.json references existing files, same config as OCI', () => {
    const { oci, docker, ociTar, dockerTar } = images[name];
    const manifest = json(dockerTar, 'manifest.json');
    expect(manifest).toHaveLength(1);
    const [item] = manifest;
    expect(item.RepoTags).toEqual([`${name}:latest`]);
    const configBytes = record(dockerTar, item.Config).data;
    expect(item.Config).toBe(`${docker.config.digest.slice(7)}.json`);
    expect(configBytes.equals(blob(ociTar, oci.config))).toBe(true);
    expect(docker.config).toEqual({ ...oci.config, mediaType: MediaType.DockerConfig });

    expect(item.Layers).toHaveLength(docker.diffIds.length);
    const ids = (item.Layers as string[]).map((path, i) => {
      expect(path).toMatch(/^[a-f0-9]{64}\/layer\.tar$/);
      const layerId = path.split('/')[0]!;
      expect(sha256(record(dockerTar, path).data)).toBe(docker.diffIds[i]);
      expect(record(dockerTar, `${layerId}/VERSION`).data.toString()).toBe('1.0');
      const v1 = json(dockerTar, `${layerId}/json`);
      expect(v1.id).toBe(layerId);
      return layerId;
    });
    ids.slice(1).forEach((id, i) => expect(json(dockerTar, `${id}/json`).parent).toBe(ids[i]));
    expect(json(dockerTar, 'repositories')).toEqual({ [name]: { latest: ids[ids.length - 1] } });
    expect(docker.layers.map((l) => [l.mediaType, l.digest])).toEqual(docker.diffIds.map((d) => [DOCKER_LAYER_TAR, d]));
    expect(docker.diffIds).toEqual(oci.diffIds);
    expect(docker.manifest.mediaType).toBe(MediaType.DockerManifest);
    expect(docker.index).toBeUndefined();
  });
});

describe('busybox image', () => {
  it('holds the binary, applet symlinks, directories, users and groups', async () => {
    const { oci, ociTar } = images.busybox;
    const layer = await readTar(blob(ociTar, oci.layers[0]!));
    const binary = await readFile(BUSYBOX_PATH);
    expect(record(layer, 'bin/busybox').data.equals(binary)).toBe(true);
    expect(record(layer, 'bin/busybox').header.mode).toBe(0o755);
    for (const applet of ['sh', 'echo', 'cat', 'ls', 'true', '[', 'mount', 'vi', 'awk', 'sed', ...BUSYBOX_APPLETS]) {
      expect(record(layer, `bin/${applet}`).header).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    }
    expect(record(layer, 'usr/bin/env').header.linkname).toBe('../../bin/busybox');
    for (const d of ['bin', 'etc', 'tmp', 'root', 'home/user', 'proc', 'sys', 'dev', 'var', 'usr']) {
      expect(record(layer, d).header.type).toBe('directory');
    }
    expect(record(layer, 'tmp').header.mode).toBe(0o1777);
    expect(record(layer, 'home/user').header).toMatchObject({ uid: 1000, gid: 1000 });
    const passwd = record(layer, 'etc/passwd').data.toString();
    expect(passwd).toMatch(/^root:x:0:0:/m);
    expect(passwd).toMatch(/^user:x:1000:1000:/m);
    expect(passwd).toMatch(/^nobody:x:65534:65534:/m);
    const group = record(layer, 'etc/group').data.toString();
    expect(group).toMatch(/^user:x:1000:$/m);
    expect(group).toMatch(/^staff:x:50:user$/m);

    const config = JSON.parse(blob(ociTar, oci.config).toString());
    expect(config.architecture).toBe(hostArchitecture());
    expect(config.config).toEqual({
      Cmd: ['sh'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      WorkingDir: '/',
    });
  });
});
