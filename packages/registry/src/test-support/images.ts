import { Readable } from 'node:stream';
import { MediaType, digestOf, parseManifest, type Descriptor, type Manifest } from '@berth/spec';
import { testImage } from '@berth/testimages';
import type { ContentSource } from '../helpers';
import { openOciArchive, type OciArchive } from './oci-layout';

/** The busybox test image: its archive, manifest and a source serving its blobs. */
export interface TestImage {
  archive: OciArchive;
  manifest: Descriptor;
  parsed: Manifest;
  blobs: Descriptor[];
  source: ContentSource;
}

export async function loadImage(name: 'busybox' | 'layers' = 'busybox'): Promise<TestImage> {
  const built = await testImage(name, 'oci');
  const archive = await openOciArchive(built.path);
  const parsed = parseManifest(await archive.read(built.manifest), built.manifest.mediaType);
  return {
    archive,
    manifest: built.manifest,
    parsed,
    blobs: [parsed.config, ...parsed.layers],
    source: (d) => archive.open(d),
  };
}

/** In-memory documents (extra manifests, an index) served before falling back to `base`. */
export function withDocuments(base: ContentSource, docs: Map<string, Buffer>): ContentSource {
  return (d) => {
    const doc = docs.get(d.digest);
    return doc ? Readable.from([doc]) : base(d);
  };
}

/** A JSON document as bytes and its descriptor. */
export function document(mediaType: string, value: unknown): { bytes: Buffer; desc: Descriptor } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, desc: { mediaType, digest: digestOf(bytes), size: bytes.length } };
}

export { MediaType };
