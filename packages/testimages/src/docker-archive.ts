import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { MediaType, chainIds, digestEncoded, digestOf, type Descriptor, type Digest } from '@berth/spec';
import { bytesContent, fileContent } from './content';
import { canonicalJson } from './json';
import type { ArchiveInput } from './oci-archive';
import { tarStream } from './tar-writer';
import type { BuiltImage, LayerEntry } from './types';

/** Docker's media type for an uncompressed layer tar, what a docker-archive's `layer.tar` is. */
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

// Docker stamps every layer but the top one with the zero Unix time.
const V1_ZERO_TIME = '1970-01-01T00:00:00Z';

/**
 * Writes a docker-archive (the classic `docker save` layout) of one image to a new file at `path`:
 * `<config hex>.json`, one `<layer id>/` directory per layer with `VERSION`, `json` and the
 * uncompressed `layer.tar`, `manifest.json` with `RepoTags: ["<name>:latest"]`, and `repositories`.
 * Layer IDs are derived as Docker's v1 compatibility IDs are: the digest of the layer's v1 JSON
 * with its chain ID and parent ID. `input.layers` must be uncompressed tars.
 */
export async function writeDockerArchive(input: ArchiveInput, path: string): Promise<Omit<BuiltImage, 'path'>> {
  const config = JSON.parse(input.config.toString('utf8')) as Record<string, unknown>;
  const configDigest = digestOf(input.config);
  const configFile = `${digestEncoded(configDigest)}.json`;
  const diffIds = input.layers.map((layer) => layer.diffId);
  for (const layer of input.layers) {
    if (layer.diffId !== layer.descriptor.digest) throw new Error(`docker-archive: layer ${layer.descriptor.digest} is compressed`);
  }
  const chain = chainIds(diffIds);

  const entries: LayerEntry[] = [{ path: configFile, type: 'file', mode: 0o644, content: bytesContent(input.config) }];
  const layerIds: string[] = [];
  input.layers.forEach((layer, i) => {
    const top = i === input.layers.length - 1;
    const v1: Record<string, unknown> = top
      ? { architecture: config.architecture, config: config.config, created: config.created, os: config.os }
      : { created: V1_ZERO_TIME, os: config.os };
    const parent = layerIds[i - 1];
    const id = digestEncoded(digestOf(canonicalJson({ ...v1, layer_id: chain[i], parent: parent && `sha256:${parent}` })));
    layerIds.push(id);
    entries.push(
      { path: id, type: 'directory', mode: 0o755 },
      { path: `${id}/VERSION`, type: 'file', mode: 0o644, content: bytesContent('1.0') },
      { path: `${id}/json`, type: 'file', mode: 0o644, content: bytesContent(canonicalJson({ ...v1, id, parent })) },
      { path: `${id}/layer.tar`, type: 'file', mode: 0o644, content: fileContent(layer.path, layer.descriptor.size) },
    );
  });
  const manifestJson = canonicalJson([
    { Config: configFile, RepoTags: [`${input.name}:latest`], Layers: layerIds.map((id) => `${id}/layer.tar`) },
  ]);
  const repositories = canonicalJson({ [input.name]: { latest: layerIds[layerIds.length - 1] } });
  entries.push(
    { path: 'manifest.json', type: 'file', mode: 0o644, content: bytesContent(`${manifestJson}\n`) },
    { path: 'repositories', type: 'file', mode: 0o644, content: bytesContent(`${repositories}\n`) },
  );
  await pipeline(tarStream(entries), createWriteStream(path, { flags: 'wx' }));

  const configDesc: Descriptor = { mediaType: MediaType.DockerConfig, digest: configDigest, size: input.config.length };
  const layers = input.layers.map((layer): Descriptor => ({ ...layer.descriptor, mediaType: DOCKER_LAYER_TAR }));
  // The manifest an importer reconstructs, byte for byte as containerd writes it: Go's encoding/json
  // over the image-spec structs, i.e. fields in declaration order (not canonicalJson's sorted keys).
  const goDescriptor = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  const manifestBytes = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: goDescriptor(configDesc),
    layers: layers.map(goDescriptor),
  });
  return {
    format: 'docker',
    manifest: { mediaType: MediaType.DockerManifest, digest: digestOf(manifestBytes), size: Buffer.byteLength(manifestBytes) },
    config: configDesc,
    layers,
    diffIds,
  };
}
