import { createReadStream } from 'node:fs';
import { invalidArgument } from '@berth/errdefs';
import {
  Label,
  MediaType,
  digestOf,
  gcRefContentLayer,
  gcRefContentManifest,
  isIndexMediaType,
  normalizeReference,
  parseIndex,
  parseManifest,
  type Descriptor,
  type Digest,
} from '@berth/spec';
import type { Connection } from './connection';
import { ContentClient } from './content-client';
import { ImagesClient, type ImageRecord } from './images-client';
import { digestFile, readBlob, writeBlob } from './image-content';
import { expiringLeaseLabels, LeasesClient } from './leases-client';
import { indexTar, type TarFile } from './tar-index';
import { unpackImage } from './unpack';

/** Options of `importArchive`. */
export interface ImportOptions {
  /** Unpack each image into the snapshotter (default true). */
  unpack?: boolean;
  /** Default `overlayfs`. */
  snapshotter?: string;
  /**
   * Progress, per blob (`name` its digest): `loading` with the bytes sent so far, then `loaded`,
   * or `exists` when berthd had it; per image (`name` its name): `unpacking`, then `unpacked`.
   */
  onProgress?: (p: ImportProgress) => void;
}

/** One progress event of `importArchive` (the shape of the Transfer service's progress). */
export interface ImportProgress {
  event: 'loading' | 'loaded' | 'exists' | 'unpacking' | 'unpacked';
  name: string;
  progress: number;
  total: number;
}

/**
 * Imports a `docker save` archive or an OCI image layout archive (uncompressed tar), client-side
 * as `ctr images import` does: every blob goes through Content.Write (verified by digest, skipped
 * when present), docker archives get a synthesized schema2 manifest, manifests and indexes get
 * containerd's `gc.ref` labels, and each named image is created (or re-pointed) with Images;
 * then unpacked. All under one lease, deleted at the end. Names come from
 * `io.containerd.image.name` annotations, an `org.opencontainers.image.ref.name` that is a full
 * reference, or docker's RepoTags, normalized (`busybox` → `docker.io/library/busybox:latest`).
 * Returns the images created. InvalidArgument for an archive that is neither format.
 */
export async function importArchive(conn: Connection, path: string, opts: ImportOptions = {}): Promise<ImageRecord[]> {
  const files = await indexTar(path);
  const leases = new LeasesClient(conn);
  const lease = await leases.create({ labels: expiringLeaseLabels() });
  const leased = conn.with({ lease: lease.id });
  try {
    const content = new ContentClient(leased);
    const images = new ImagesClient(leased);
    const put: PutFile = (f, labels) => putFile(content, path, f, labels, opts.onProgress);
    let named: { name: string; target: Descriptor }[];
    if (files.has('index.json')) named = await importOci(content, path, files, put);
    else if (files.has('manifest.json')) named = await importDocker(content, path, files, put);
    else throw invalidArgument(`${path}: neither an OCI layout (index.json) nor a docker archive (manifest.json)`);
    const out: ImageRecord[] = [];
    for (const { name, target } of named) {
      out.push(await images.put({ name, target }));
      if (opts.unpack ?? true) {
        opts.onProgress?.({ event: 'unpacking', name, progress: 0, total: 0 });
        await unpackImage(leased, target, { snapshotter: opts.snapshotter });
        opts.onProgress?.({ event: 'unpacked', name, progress: 0, total: 0 });
      }
    }
    return out;
  } finally {
    await leases.delete(lease.id).catch(() => {});
  }
}

async function readFile(path: string, f: TarFile): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (f.size === 0) return Buffer.alloc(0);
  for await (const c of createReadStream(path, { start: f.offset, end: f.offset + f.size - 1 })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes one file of the archive into the content store (see `putFile`). */
type PutFile = (f: TarFile, labels?: Record<string, string>) => Promise<{ digest: Digest; size: number }>;

async function putFile(
  content: ContentClient,
  path: string,
  f: TarFile,
  labels?: Record<string, string>,
  onProgress?: ImportOptions['onProgress'],
): Promise<{ digest: Digest; size: number }> {
  const desc = await digestFile(path, f.offset, f.size);
  const report = (event: ImportProgress['event'], progress: number) => onProgress?.({ event, name: desc.digest, progress, total: desc.size });
  const source = () => (f.size === 0 ? (async function* () {})() : counted(createReadStream(path, { start: f.offset, end: f.offset + f.size - 1 }), (n) => report('loading', n)));
  const wrote = await writeBlob(content, `tar-${f.name}`, desc, source, labels);
  report(wrote ? 'loaded' : 'exists', desc.size);
  return desc;
}

/** The chunks of `source`, telling `sent` the running byte count after each. */
async function* counted(source: AsyncIterable<Uint8Array>, sent: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    yield chunk;
    sent((n += chunk.length));
  }
}

async function importOci(content: ContentClient, path: string, files: Map<string, TarFile>, put: PutFile): Promise<{ name: string; target: Descriptor }[]> {
  // Blobs first, children before parents is not needed: labels are set after all are in.
  for (const f of files.values()) {
    if (!f.name.startsWith('blobs/')) continue;
    const [, alg, hex] = f.name.split('/');
    const desc = await put(f);
    if (desc.digest !== `${alg}:${hex}`) throw invalidArgument(`${path}: ${f.name} has digest ${desc.digest}`);
  }
  const index = parseIndex(await readFile(path, files.get('index.json')!), MediaType.OciIndex);
  for (const m of index.manifests) await labelTree(content, m);
  const out: { name: string; target: Descriptor }[] = [];
  for (const m of index.manifests) {
    const annotated = m.annotations?.['io.containerd.image.name'] ?? m.annotations?.['org.opencontainers.image.ref.name'];
    const name = annotated ? tryNormalize(annotated) : undefined;
    if (name) out.push({ name, target: stripAnnotations(m) });
  }
  if (out.length === 0 && files.has('manifest.json')) {
    // An OCI layout that also carries docker's manifest.json (docker save since v25): take RepoTags.
    const entries = JSON.parse((await readFile(path, files.get('manifest.json')!)).toString('utf8')) as { RepoTags?: string[] }[];
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    if (index.manifests.length === 1) for (const t of tags) out.push({ name: normalizeReference(t), target: stripAnnotations(index.manifests[0]!) });
  }
  if (out.length === 0) throw invalidArgument(`${path}: no image in the archive has a name (io.containerd.image.name or a full org.opencontainers.image.ref.name)`);
  return out;
}

function tryNormalize(s: string): string | undefined {
  try {
    return s.includes(':') || s.includes('/') ? normalizeReference(s) : undefined;
  } catch {
    return undefined;
  }
}

function stripAnnotations(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** Sets containerd's gc.ref labels on an index or manifest so the image holds its children. */
async function labelTree(content: ContentClient, desc: Descriptor): Promise<void> {
  const blob = await readBlob(content, desc);
  const labels: Record<string, string> = {};
  if (isIndexMediaType(desc.mediaType)) {
    const index = parseIndex(blob, desc.mediaType);
    for (const [i, m] of index.manifests.entries()) {
      labels[gcRefContentManifest(i)] = m.digest;
      await labelTree(content, m);
    }
  } else {
    const manifest = parseManifest(blob, desc.mediaType);
    labels[Label.GcRefContentConfig] = manifest.config.digest;
    for (const [i, l] of manifest.layers.entries()) labels[gcRefContentLayer(i)] = l.digest;
  }
  await content.update({ digest: desc.digest, labels }, Object.keys(labels).map((k) => `labels.${k}`));
}

async function importDocker(content: ContentClient, path: string, files: Map<string, TarFile>, put: PutFile): Promise<{ name: string; target: Descriptor }[]> {
  const entries = JSON.parse((await readFile(path, files.get('manifest.json')!)).toString('utf8')) as { Config: string; Layers: string[]; RepoTags?: string[] }[];
  const out: { name: string; target: Descriptor }[] = [];
  for (const e of entries) {
    const configFile = files.get(e.Config);
    if (!configFile) throw invalidArgument(`${path}: ${e.Config} is missing`);
    const config = await put(configFile);
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const f = files.get(l);
      if (!f) throw invalidArgument(`${path}: ${l} is missing`);
      const head = await readFile(path, { ...f, size: Math.min(2, f.size) });
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      const d = await put(f);
      layers.push({ mediaType: gz ? MediaType.DockerLayerGzip : 'application/vnd.docker.image.rootfs.diff.tar', digest: d.digest, size: d.size });
    }
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: config.digest, size: config.size }, layers }),
    );
    const labels: Record<string, string> = { [Label.GcRefContentConfig]: config.digest };
    for (const [i, l] of layers.entries()) labels[gcRefContentLayer(i)] = l.digest;
    const digest = digestOf(manifest);
    await writeBlob(content, `manifest-${digest}`, { digest, size: manifest.length }, async function* () {
      yield manifest;
    }, labels);
    const target: Descriptor = { mediaType: MediaType.DockerManifest, digest, size: manifest.length };
    for (const tag of e.RepoTags ?? []) out.push({ name: normalizeReference(tag), target });
  }
  if (out.length === 0) throw invalidArgument(`${path}: no image in the archive has a RepoTag`);
  return out;
}
