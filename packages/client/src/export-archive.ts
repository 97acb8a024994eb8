import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dataLoss, isNotFound, notFound } from '@berth/errdefs';
import { MediaType, createDigester, digestAlgorithm, familiarString, parseReference, type Descriptor, type Digest, type Platform } from '@berth/spec';
import { pack as createPack, type Pack } from 'tar-stream';
import type { Connection } from './connection';
import { ContentClient } from './content-client';
import { resolveImage } from './image-content';
import { ImagesClient } from './images-client';

/** The annotation containerd puts an image's full name in. */
const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
/** The OCI annotation for a reference name (the tag, in containerd's archives). */
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** Options of `exportArchive`. */
export interface ExportArchiveOptions {
  /** The manifest taken from a multi-platform image (default: this host's platform). */
  platform?: Platform;
  signal?: AbortSignal;
}

type Entry = { name: string; mode: number } & ({ blob: Descriptor } | { data: Buffer } | { directory: true });

const blobPath = (d: Digest): string => `blobs/${d.replace(':', '/')}`;

/**
 * Writes the images named `names` (full names, e.g. `docker.io/library/busybox:latest`) to `out`
 * as one tar that is both an OCI image layout and a `docker save` archive, as containerd's
 * exporter (`ctr images export`) writes it: `oci-layout`, `index.json` with one entry per name
 * annotated with `io.containerd.image.name` (the full name) and
 * `org.opencontainers.image.ref.name` (its tag), the blobs under `blobs/<alg>/<hex>`, and
 * Docker's `manifest.json` (`Config`, `RepoTags`, `Layers` as blob paths). `berth load`,
 * `ctr images import` and `docker load` all read it.
 *
 * A multi-platform image is exported as its manifest for `platform` (what `docker save` does):
 * the archive's index points at that manifest, and other platforms' blobs are not written.
 * Entries are sorted with mtime 0, so the same images give the same bytes. Blobs are streamed
 * through Content.Read with backpressure and checked against their digests (DataLoss).
 * `out` is ended on success and destroyed on failure.
 *
 * Errors: NotFound naming the first image that does not exist (before anything is written) or
 * a blob that is missing; the errors of `resolveImage` for unreadable images.
 */
export async function exportArchive(conn: Connection, names: readonly string[], out: Writable, opts: ExportArchiveOptions = {}): Promise<void> {
  const call = opts.signal ? { signal: opts.signal } : {};
  const content = new ContentClient(conn);
  const images = new ImagesClient(conn);
  const entries = new Map<string, Entry>();
  const index: Descriptor[] = [];
  const docker = new Map<Digest, { config: Digest; layers: Digest[]; tags: string[] }>();
  try {
    for (const name of new Set(names)) {
      let record;
      try {
        record = await images.get(name, call);
      } catch (err) {
        if (isNotFound(err)) throw notFound(`image ${familiarString(name)}: not found`, { cause: err });
        throw err;
      }
      const image = await resolveImage(content, record.target, opts.platform);
      const manifest = image.manifestDescriptor;
      index.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { [ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: refName(name) },
      });
      for (const blob of [manifest, image.configDescriptor, ...image.manifest.layers]) {
        entries.set(blobPath(blob.digest), { name: blobPath(blob.digest), mode: 0o444, blob });
      }
      const row = docker.get(manifest.digest) ?? { config: image.configDescriptor.digest, layers: image.manifest.layers.map((l) => l.digest), tags: [] };
      const tag = repoTag(name);
      if (tag !== undefined) row.tags.push(tag);
      docker.set(manifest.digest, row);
    }
  } catch (err) {
    out.destroy();
    throw err;
  }
  const text = (name: string, value: unknown, mode = 0o644): void => void entries.set(name, { name, mode, data: Buffer.from(JSON.stringify(value)) });
  text('oci-layout', { imageLayoutVersion: '1.0.0' }, 0o444);
  text('index.json', { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index });
  text(
    'manifest.json',
    [...docker.values()].map((d) => ({ Config: blobPath(d.config), RepoTags: d.tags.length > 0 ? d.tags : null, Layers: d.layers.map(blobPath) })),
  );
  for (const name of [...entries.keys()].filter((n) => n.startsWith('blobs/'))) {
    const dir = name.slice(0, name.lastIndexOf('/') + 1);
    entries.set('blobs/', { name: 'blobs/', mode: 0o755, directory: true });
    entries.set(dir, { name: dir, mode: 0o755, directory: true });
  }
  const sorted = [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tar = createPack();
  const filling = fill(content, tar, sorted, opts.signal).catch((err: unknown) => {
    tar.destroy(err as Error);
    throw err;
  });
  await Promise.all([pipeline(Readable.from(tar, { objectMode: false }), out, call), filling]);
}

/** The tag of a full name (`latest`), or `@sha256:…` for a digest reference, as containerd writes it. */
function refName(name: string): string {
  try {
    const ref = parseReference(name);
    return ref.tag ?? (ref.digest ? `@${ref.digest}` : '');
  } catch {
    return '';
  }
}

/** Docker's RepoTags form (`busybox:latest`), or undefined for a name without a tag. */
function repoTag(name: string): string | undefined {
  try {
    const ref = parseReference(name);
    return ref.tag === undefined ? undefined : familiarString(ref);
  } catch {
    return undefined;
  }
}

async function fill(content: ContentClient, tar: Pack, entries: readonly Entry[], signal?: AbortSignal): Promise<void> {
  for (const e of entries) {
    signal?.throwIfAborted();
    const header = { name: e.name, mode: e.mode, mtime: new Date(0), uid: 0, gid: 0 };
    if ('directory' in e) await entry(tar, { ...header, type: 'directory' }, async () => {});
    else if ('data' in e) {
      await entry(tar, { ...header, size: e.data.length }, async (sink) => {
        if (!sink.write(e.data)) await once(sink, 'drain');
      });
    } else await entry(tar, { ...header, size: e.blob.size }, (sink) => copyBlob(content, e.blob, sink, signal));
  }
  tar.finalize();
}

type Sink = ReturnType<Pack['entry']>;

/** One tar entry: resolves once tar-stream has taken all of it. */
function entry(tar: Pack, header: Parameters<Pack['entry']>[0], write: (sink: Sink) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = tar.entry(header, (err) => (err ? reject(err) : resolve()));
    sink.on('error', () => {});
    write(sink).then(
      () => void (sink as unknown as NodeJS.WritableStream).end(),
      (err: unknown) => {
        sink.destroy(err as Error);
        reject(err);
      },
    );
  });
}

async function copyBlob(content: ContentClient, desc: Descriptor, sink: Sink, signal?: AbortSignal): Promise<void> {
  const reader = await content.readerAt(desc, signal ? { signal } : {});
  try {
    if (reader.size !== desc.size) throw dataLoss(`blob ${desc.digest}: ${reader.size} bytes in the store, descriptor says ${desc.size}`);
    const digester = createDigester(digestAlgorithm(desc.digest));
    for await (const chunk of reader.createReadStream(signal ? { signal } : {})) {
      digester.update(chunk as Buffer);
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    const got = digester.digest();
    if (got !== desc.digest) throw dataLoss(`blob ${desc.digest}: content read back has digest ${got}`);
  } finally {
    await reader.close();
  }
}
