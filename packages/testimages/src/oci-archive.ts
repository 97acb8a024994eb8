import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { MediaType, digestEncoded, digestOf, type Descriptor, type Digest } from '@berth/spec';
import { bytesContent, fileContent } from './content';
import { canonicalJson } from './json';
import type { LayerBlob } from './layer-blob';
import { tarStream } from './tar-writer';
import type { BuiltImage, LayerEntry } from './types';

/** What an archive writer needs: the image's short name, its config JSON and its layer blobs on disk. */
export interface ArchiveInput {
  name: string;
  config: Buffer;
  layers: readonly LayerBlob[];
}

/** The full reference `<name>:latest` normalises to, as containerd records it. */
export function imageReference(name: string): string {
  return `docker.io/library/${name}:latest`;
}

const blobPath = (digest: Digest): string => `blobs/sha256/${digestEncoded(digest)}`;

/**
 * Writes an oci-archive of one image to a new file at `path`: an OCI image layout (`oci-layout`,
 * `index.json` whose one manifest descriptor carries `org.opencontainers.image.ref.name: latest`
 * and `io.containerd.image.name: docker.io/library/<name>:latest`, `blobs/sha256/…`), plus the
 * Docker-compatible `manifest.json` that containerd's export adds. Entries are sorted by name, as
 * containerd writes them. Layer files are streamed from disk.
 */
export async function writeOciArchive(input: ArchiveInput, path: string): Promise<Omit<BuiltImage, 'path'>> {
  const configDesc: Descriptor = { mediaType: MediaType.OciConfig, digest: digestOf(input.config), size: input.config.length };
  const layers = input.layers.map((layer) => layer.descriptor);
  const manifestBytes = Buffer.from(
    canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers }),
  );
  const manifest: Descriptor = { mediaType: MediaType.OciManifest, digest: digestOf(manifestBytes), size: manifestBytes.length };
  const indexBytes = Buffer.from(
    canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          ...manifest,
          annotations: { 'io.containerd.image.name': imageReference(input.name), 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  const dockerManifest = canonicalJson([
    { Config: blobPath(configDesc.digest), RepoTags: [`${input.name}:latest`], Layers: layers.map((l) => blobPath(l.digest)) },
  ]);

  const blobs = new Map<string, LayerEntry>();
  const addBlob = (digest: Digest, content: LayerEntry['content']): void => {
    blobs.set(digest, { path: blobPath(digest), type: 'file', mode: 0o444, content });
  };
  addBlob(configDesc.digest, bytesContent(input.config));
  addBlob(manifest.digest, bytesContent(manifestBytes));
  for (const layer of input.layers) addBlob(layer.descriptor.digest, fileContent(layer.path, layer.descriptor.size));

  const entries: LayerEntry[] = [
    { path: 'blobs', type: 'directory', mode: 0o755 },
    { path: 'blobs/sha256', type: 'directory', mode: 0o755 },
    ...blobs.values(),
    { path: 'index.json', type: 'file', mode: 0o644, content: bytesContent(indexBytes) },
    { path: 'manifest.json', type: 'file', mode: 0o644, content: bytesContent(dockerManifest) },
    { path: 'oci-layout', type: 'file', mode: 0o444, content: bytesContent(canonicalJson({ imageLayoutVersion: '1.0.0' })) },
  ];
  await pipeline(tarStream(entries), createWriteStream(path, { flags: 'wx' }));
  return {
    format: 'oci',
    manifest,
    config: configDesc,
    layers,
    diffIds: input.layers.map((layer) => layer.diffId),
    index: digestOf(indexBytes),
  };
}
