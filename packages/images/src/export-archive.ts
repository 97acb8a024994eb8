import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { InfoProvider, Provider } from '@berth/content';
import { dataLoss, invalidArgument, isNotFound, notFound } from '@berth/errdefs';
import {
  Label,
  comparePlatforms,
  createDigester,
  defaultPlatform,
  digestAlgorithm,
  digestEncoded,
  familiarString,
  isIndexMediaType,
  isManifestMediaType,
  onlyPlatformStrict,
  parseIndex,
  parseManifest,
  parseReference,
  type Descriptor,
  type Digest,
  type PlatformMatchComparer,
} from '@berth/spec';
import { pack as createPack, type Pack } from 'tar-stream';
import { goDescriptor, goJson } from './go-json';
import { AnnotationImageName, AnnotationRefName, ociReferenceName } from './names';
import { readDocument } from './read-document';
import type { Image } from './types';
import { childrenHandler, walk } from './walk';

/** Options of `exportArchive`, after `ctr images export`. */
export interface ExportOptions {
  /** Which manifests of an index to export (default `onlyPlatformStrict(defaultPlatform())`). */
  platform?: PlatformMatchComparer;
  /** Export every manifest of an index; `platform` still picks the one `manifest.json` lists. */
  allPlatforms?: boolean;
  /** Leave out the Docker-compatible `manifest.json`. */
  skipDockerManifest?: boolean;
  signal?: AbortSignal;
}

type Source = Provider & InfoProvider;
type Record = { name: string; mode: number } & ({ desc: Descriptor } | { data: Buffer } | { directory: true });

const blobName = (d: Digest): string => `blobs/${digestAlgorithm(d)}/${digestEncoded(d)}`;

/** The name annotations an exported index entry carries, plus the blob's distribution sources. */
async function annotate(content: Source, image: Image): Promise<Descriptor> {
  const annotations: { [k: string]: string } = { ...image.target.annotations };
  try {
    for (const [k, v] of Object.entries((await content.info(image.target.digest)).labels)) {
      if (k.startsWith(Label.DistributionSourcePrefix)) annotations[k] = v;
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw notFound(`image ${JSON.stringify(image.name)}: target ${image.target.digest} not in the content store`, { cause: err });
  }
  annotations[AnnotationImageName] = image.name;
  annotations[AnnotationRefName] = ociReferenceName(image.name);
  return { ...image.target, annotations };
}

/** The blob records of everything under `desc` (every platform of nested indexes). */
async function blobRecords(content: Source, desc: Descriptor, into: Map<string, Record>): Promise<void> {
  const kids = childrenHandler(content);
  await walk(async (d) => {
    into.set(blobName(d.digest), { name: blobName(d.digest), mode: 0o444, desc: d });
    return kids(d);
  }, desc);
}

/** RepoTags form of an image name (`busybox:latest`), or undefined for a name that is no reference. */
function repoTag(name: string): string | undefined {
  try {
    const ref = parseReference(name);
    return familiarString(ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref);
  } catch {
    return undefined;
  }
}

async function dockerManifestJson(content: Source, manifests: Map<Digest, { desc: Descriptor; names: string[] }>): Promise<Buffer> {
  const out = [];
  for (const { desc, names } of manifests.values()) {
    const m = parseManifest(await readDocument(content, desc), desc.mediaType);
    const tags = names.map(repoTag).filter((t): t is string => t !== undefined);
    out.push({ Config: blobName(m.config.digest), RepoTags: tags.length > 0 ? tags : null, Layers: m.layers.length > 0 ? m.layers.map((l) => blobName(l.digest)) : null });
  }
  return Buffer.from(goJson(out));
}

/**
 * Writes `images` to `out` as an oci-archive, as containerd's exporter lays it out: `oci-layout`,
 * `index.json` listing each image's target annotated with `io.containerd.image.name` (the
 * record's name) and `org.opencontainers.image.ref.name` (its tag), every blob under
 * `blobs/<alg>/<hex>` (for an index target: the manifests for `platform`, or all with
 * `allPlatforms`), and a Docker `manifest.json` (`Config`, `RepoTags`, `Layers` as blob paths)
 * so `docker load` can read it. Entries are sorted by name, with mtime 0, so the same images give
 * the same bytes.
 *
 * Streamed with backpressure: blobs are read from the content store only as fast as `out`
 * takes them, and each is verified against its digest on the way (DataLoss otherwise). `out`
 * is ended on success and destroyed on error (the error is the promise's, not an `error` event,
 * unless it happens while piping).
 *
 * Errors: NotFound for a missing blob or no manifest for the platform in an index;
 * InvalidArgument for a target that is neither manifest nor index, or malformed documents.
 */
export async function exportArchive(content: Source, images: readonly Image[], out: Writable, options: ExportOptions = {}): Promise<void> {
  const platform = options.platform ?? onlyPlatformStrict(defaultPlatform());
  const records = new Map<string, Record>();
  const index: Descriptor[] = [];
  const docker = new Map<Digest, { desc: Descriptor; names: string[] }>();
  const named = (desc: Descriptor, name: string): void => {
    const entry = docker.get(desc.digest) ?? { desc, names: [] };
    entry.names.push(name);
    docker.set(desc.digest, entry);
  };
  try {
    for (const image of images) {
      options.signal?.throwIfAborted();
      const target = await annotate(content, image);
      index.push(target);
      if (isManifestMediaType(target.mediaType)) {
        await blobRecords(content, target, records);
        named(target, image.name);
      } else if (isIndexMediaType(target.mediaType)) {
        records.set(blobName(target.digest), { name: blobName(target.digest), mode: 0o444, desc: target });
        const matched: Descriptor[] = [];
        for (const m of parseIndex(await readDocument(content, target), target.mediaType).manifests) {
          if (m.platform === undefined || platform.match(m.platform)) matched.push(m);
          else if (!options.allPlatforms) continue;
          await blobRecords(content, m, records);
        }
        const best = matched.sort((a, b) => comparePlatforms(platform, a.platform, b.platform))[0];
        if (!best) throw notFound(`image ${JSON.stringify(image.name)}: no manifest for platform in index ${target.digest}`);
        if (isManifestMediaType(best.mediaType)) named(best, image.name);
      } else {
        throw invalidArgument(`image ${JSON.stringify(image.name)}: only manifests and indexes can be exported, not ${target.mediaType}`);
      }
    }
    const text = (name: string, data: string, mode: number): void => void records.set(name, { name, mode, data: Buffer.from(data) });
    text('oci-layout', goJson({ imageLayoutVersion: '1.0.0' }), 0o444);
    text('index.json', goJson({ schemaVersion: 2, manifests: index.map(goDescriptor) }), 0o644);
    if (!options.skipDockerManifest && docker.size > 0) {
      records.set('manifest.json', { name: 'manifest.json', mode: 0o644, data: await dockerManifestJson(content, docker) });
    }
    for (const name of [...records.keys()]) {
      if (!name.startsWith('blobs/')) continue;
      const alg = name.split('/')[1]!;
      records.set('blobs/', { name: 'blobs/', mode: 0o755, directory: true });
      records.set(`blobs/${alg}/`, { name: `blobs/${alg}/`, mode: 0o755, directory: true });
    }
  } catch (err) {
    // Without the error: nobody may be listening for 'error' on `out`; the caller gets it from us.
    out.destroy();
    throw err;
  }
  const sorted = [...records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pack = createPack();
  const filling = fill(content, pack, sorted, options.signal).catch((err: unknown) => {
    pack.destroy(err as Error);
    throw err;
  });
  await Promise.all([pipeline(Readable.from(pack, { objectMode: false }), out, options.signal ? { signal: options.signal } : {}), filling]);
}

async function fill(content: Source, pack: Pack, records: readonly Record[], signal?: AbortSignal): Promise<void> {
  for (const record of records) {
    signal?.throwIfAborted();
    const header = { name: record.name, mode: record.mode, mtime: new Date(0), uid: 0, gid: 0 };
    if ('directory' in record) {
      await entry(pack, { ...header, type: 'directory' as const }, async () => {});
    } else if ('data' in record) {
      await entry(pack, { ...header, size: record.data.length }, async (sink) => {
        if (!sink.write(record.data)) await once(sink, 'drain');
      });
    } else {
      await entry(pack, { ...header, size: record.desc.size }, (sink) => copyBlob(content, record.desc, sink, signal));
    }
  }
  pack.finalize();
}

type Sink = ReturnType<Pack['entry']>;

function entry(pack: Pack, header: Parameters<Pack['entry']>[0], write: (sink: Sink) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
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

async function copyBlob(content: Source, desc: Descriptor, sink: Sink, signal?: AbortSignal): Promise<void> {
  const reader = await content.readerAt(desc);
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
