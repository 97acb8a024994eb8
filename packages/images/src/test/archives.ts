import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { MediaType, digestOf, type Descriptor } from '@berth/spec';
import { extract, pack, type Header } from 'tar-stream';

/** Test-only: one tar entry in memory. */
export interface TarFile {
  header: Header;
  data: Buffer;
}

/** Test-only: every entry of a tar file (or buffer), in order. */
export async function readTarFile(source: string | Buffer): Promise<TarFile[]> {
  const bytes = typeof source === 'string' ? await readFile(source) : source;
  const ex = extract();
  Readable.from([bytes]).pipe(ex as unknown as NodeJS.WritableStream);
  const out: TarFile[] = [];
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push({ header: entry.header, data: Buffer.concat(chunks) });
  }
  return out;
}

/** Test-only: a tar of `files` (files get their data's length as size). */
export async function writeTar(files: readonly { name: string; data?: Buffer | string; type?: Header['type']; linkname?: string }[]): Promise<Buffer> {
  const p = pack();
  for (const f of files) {
    const data = f.data === undefined ? undefined : Buffer.from(f.data);
    const header = { name: f.name, type: f.type ?? 'file', mode: 0o644, mtime: new Date(0), ...(f.linkname ? { linkname: f.linkname } : {}) };
    if (data) p.entry({ ...header, size: data.length }, data);
    else p.entry(header);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Test-only: the same entries, re-packed after `map` (return undefined to drop one). */
export async function rewriteTar(source: string | Buffer, map: (f: TarFile) => TarFile | undefined): Promise<Buffer> {
  const files = (await readTarFile(source)).map(map).filter((f): f is TarFile => f !== undefined);
  return writeTar(files.map((f) => ({ name: f.header.name, data: f.header.type === 'file' ? f.data : undefined, type: f.header.type, linkname: f.header.linkname ?? undefined })));
}

/** Test-only: a JSON blob and its descriptor. */
export function jsonBlob(mediaType: string, value: unknown): { desc: Descriptor; data: Buffer } {
  const data = Buffer.from(JSON.stringify(value));
  return { desc: { mediaType, digest: digestOf(data), size: data.length }, data };
}

/**
 * Test-only: a synthetic multi-platform image: one tiny layer and config per platform, a
 * manifest each, and an index listing them plus `extra` entries. Returns every blob.
 */
export function multiPlatformImage(platforms: readonly { architecture: string; variant?: string }[], extra: Descriptor[] = []) {
  const blobs = new Map<string, Buffer>();
  const add = (b: { desc: Descriptor; data: Buffer }): Descriptor => {
    blobs.set(b.desc.digest, b.data);
    return b.desc;
  };
  const manifests = platforms.map((p) => {
    const layerData = Buffer.from(`layer for ${p.architecture}${p.variant ?? ''}`);
    const layer: Descriptor = { mediaType: MediaType.OciLayer, digest: digestOf(layerData), size: layerData.length };
    blobs.set(layer.digest, layerData);
    const config = add(jsonBlob(MediaType.OciConfig, { os: 'linux', ...p, rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
    const manifest = add(jsonBlob(MediaType.OciManifest, { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] }));
    return { ...manifest, platform: { os: 'linux', ...p } } as Descriptor;
  });
  const index = add(jsonBlob(MediaType.OciIndex, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...manifests, ...extra] }));
  return { index, manifests, blobs };
}
