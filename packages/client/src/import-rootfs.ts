import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, isAlreadyExists } from '@berth/errdefs';
import {
  Label,
  MediaType,
  createDigester,
  defaultPlatform,
  digestOf,
  gcRefContentLayer,
  normalizeReference,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageRuntimeConfig,
  type Platform,
} from '@berth/spec';
import type { Connection } from './connection';
import { ContentClient } from './content-client';
import { writeBlob } from './image-content';
import { ImagesClient, type ImageRecord } from './images-client';
import { expiringLeaseLabels, LeasesClient } from './leases-client';
import { unpackImage } from './unpack';
import { lazy, randomHex } from './lazy-node';

/** Options of `importRootfs`. */
export interface ImportRootfsOptions {
  /** The image's full name; without one, `import-YYYY-MM-DD@<manifest digest>` (containerd's naming, normalized: `docker.io/library/import-…`). */
  name?: string;
  /** The image's platform (default: this host's). */
  platform?: Platform;
  /** The image's run config (Docker's `--change`): Cmd, Entrypoint, Env, WorkingDir, User… */
  config?: ImageRuntimeConfig;
  /** The history entry's comment (Docker's `--message`). */
  message?: string;
  /** Unpack into the snapshotter (default true). */
  unpack?: boolean;
  /** Default `overlayfs`. */
  snapshotter?: string;
  signal?: AbortSignal;
}

/** What `importRootfs` made. */
export interface ImportedRootfs {
  image: ImageRecord;
  /** The config blob: its digest is Docker's image ID. */
  config: Descriptor;
  manifest: Descriptor;
}

/**
 * Makes a one-layer image from a root filesystem tar (plain or gzip), as `docker import` does:
 * the tar becomes a gzip layer (its diffID the sha256 of the plain tar), an OCI config with
 * `rootfs.diff_ids`, the platform's os and architecture, the given run config and a history
 * entry, and an OCI manifest, all written through Content under a lease; then the image record
 * (created, or re-pointed when the name exists) and, by default, the unpacked snapshot. The
 * lease is deleted at the end, also on failure, so nothing half-made stays.
 *
 * InvalidArgument when the input is empty or not a tar archive.
 */
export async function importRootfs(conn: Connection, source: AsyncIterable<Uint8Array>, opts: ImportRootfsOptions = {}): Promise<ImportedRootfs> {
  const call = opts.signal ? { signal: opts.signal } : {};
  const leases = new LeasesClient(conn);
  const lease = await leases.create({ labels: expiringLeaseLabels(), ...call });
  const leased = conn.with({ lease: lease.id });
  try {
    const content = new ContentClient(leased);
    const { layer, diffId } = await writeLayer(content, source, opts.signal);
    const platform = opts.platform ?? defaultPlatform();
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: opts.config ?? {},
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'berth import', ...(opts.message ? { comment: opts.message } : {}) }],
    } as ImageConfig;
    const configDesc = await putJson(content, MediaType.OciConfig, config);
    const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: [layer] };
    const manifestDesc = await putJson(content, MediaType.OciManifest, manifest, {
      [Label.GcRefContentConfig]: configDesc.digest,
      [gcRefContentLayer(0)]: layer.digest,
    });
    const name = opts.name ?? normalizeReference(`import-${created.slice(0, 10)}@${manifestDesc.digest}`);
    const image = await new ImagesClient(leased).put({ name, target: manifestDesc }, call);
    if (opts.unpack ?? true) await unpackImage(leased, manifestDesc, { ...(opts.snapshotter ? { snapshotter: opts.snapshotter } : {}), platform });
    return { image, config: configDesc, manifest: manifestDesc };
  } finally {
    await leases.delete(lease.id).catch(() => {});
  }
}

/** Streams `source` (un-gzipped when it is gzip) into a gzip layer blob; returns it and its diffID. */
async function writeLayer(content: ContentClient, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ layer: Descriptor; diffId: Digest }> {
  const writer = await content.writer({ ref: `import-rootfs-${randomHex(8)}`, ...(signal ? { signal } : {}) });
  const plain = createDigester();
  let size = 0;
  try {
    await pipeline(
      Readable.from(plainTar(source)),
      async function* (tar: AsyncIterable<Buffer>) {
        for await (const chunk of tar) {
          plain.update(chunk);
          yield chunk;
        }
      },
      lazy.zlib.createGzip(),
      async (gz: AsyncIterable<Buffer>) => {
        for await (const chunk of gz) {
          size += chunk.length;
          await writer.write(chunk);
        }
      },
      signal ? { signal } : {},
    );
  } catch (err) {
    await writer.close().catch(() => {});
    throw err;
  }
  const diffId = plain.digest();
  const digest = writer.digest();
  try {
    await writer.commit({ size, labels: { [Label.Uncompressed]: diffId } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  return { layer: { mediaType: MediaType.OciLayerGzip, digest, size }, diffId };
}

/**
 * The bytes of a tar archive from `source`, gunzipped when it starts with gzip's magic. The first
 * block must look like a tar header (`ustar` magic at 257, as GNU and POSIX tars have), else
 * InvalidArgument: a typo'd file name should not become an image.
 */
async function* plainTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  if (head.length === 0) throw invalidArgument('import: the archive is empty');
  const all = (async function* () {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield Buffer.from(n.value);
  })();
  let tar: AsyncIterable<Buffer> = all;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = lazy.zlib.createGunzip();
    pipeline(Readable.from(all), gunzip).catch(() => {}); // an error reaches the reader through gunzip
    tar = gunzip;
  }
  let checked = false;
  let first = Buffer.alloc(0);
  for await (const chunk of tar) {
    if (!checked) {
      first = Buffer.concat([first, chunk]);
      if (first.length < 512) continue;
      if (first.subarray(257, 262).toString('latin1') !== 'ustar') throw invalidArgument('import: not a tar archive (no tar header at the start)');
      checked = true;
      yield first;
      continue;
    }
    yield chunk;
  }
  if (!checked) throw invalidArgument('import: not a tar archive (shorter than one tar block)');
}

async function putJson(content: ContentClient, mediaType: string, value: unknown, labels?: Record<string, string>): Promise<Descriptor> {
  const data = Buffer.from(JSON.stringify(value));
  const digest = digestOf(data);
  const desc = { mediaType, digest, size: data.length };
  await writeBlob(content, `import-${digest}`, desc, async function* () {
    yield data;
  }, labels);
  return desc;
}
