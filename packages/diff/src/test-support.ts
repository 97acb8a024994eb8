/**
 * Test helpers (not exported from the package): temp dirs and content stores, layer blobs built
 * with tar-stream, the `layers` test image's blobs, and tree snapshots for before/after compares.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLocalStore, writeBlob, type LocalContentStore } from '@berth/content';
import { digestOf, Label, MediaType, type Descriptor } from '@berth/spec';
import { lgetxattr, llistxattr } from '@berth/sys';
import { extract as createExtract, pack as createPack, type Header } from 'tar-stream';
import { afterAll, beforeAll } from 'vitest';

/**
 * Per-file fixture: a temp work dir holding a content store (`<work>/content`), made before the
 * file's tests and removed after them. Read `work` and `store` inside tests, not at load time.
 */
export function useWorkDir(): { readonly work: string; readonly store: LocalContentStore } {
  const fixture = {} as { work: string; store: LocalContentStore };
  beforeAll(async () => {
    fixture.work = await tempDir();
    fixture.store = newStore(join(fixture.work, 'content'));
  });
  afterAll(() => removeDir(fixture.work));
  return fixture;
}

/** A temp dir, removed by `cleanup`. */
export async function tempDir(prefix = 'berth-diff-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** One entry of a hand-built tar: a header plus an optional body. */
export interface TarSpec {
  header: Partial<Header> & { name: string; pax?: Record<string, string> };
  body?: string | Buffer;
}

/** The bytes of a tar made of `entries` (tar-stream's pack, as an attacker could write it). */
export async function buildTar(entries: TarSpec[]): Promise<Buffer> {
  const pack = createPack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const header = { mtime: new Date(1_700_000_000_000), mode: e.header.type === 'directory' ? 0o755 : 0o644, ...e.header } as Header;
    await new Promise<void>((resolve, reject) => {
      pack.entry(header, e.body ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Stores `data` as a layer blob and returns its descriptor (gzip unless said otherwise). */
export async function storeLayer(
  store: LocalContentStore,
  tar: Buffer,
  opts: { compression?: 'gzip' | 'none'; diffId?: string; raw?: Buffer } = {},
): Promise<Descriptor> {
  const compression = opts.compression ?? 'gzip';
  const blob = opts.raw ?? (compression === 'gzip' ? gzipSync(tar) : tar);
  const digest = await writeBlob(store, `test-${Math.random()}`, blob);
  return {
    mediaType: compression === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer,
    digest,
    size: blob.length,
    annotations: { [Label.Uncompressed]: opts.diffId ?? digestOf(tar) },
  };
}

export function newStore(root: string): LocalContentStore {
  return createLocalStore({ root });
}

/** Copies every blob of an OCI archive (tar of an OCI layout) into `store`. */
export async function importArchiveBlobs(store: LocalContentStore, archive: string): Promise<void> {
  const ex = createExtract();
  const done = (async () => {
    for await (const entry of ex) {
      const m = /^(?:\.\/)?blobs\/sha256\/([0-9a-f]{64})$/.exec(entry.header.name);
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (m) await writeBlob(store, `import-${m[1]}`, Buffer.concat(chunks), { digest: `sha256:${m[1]}` });
    }
  })();
  for await (const chunk of createReadStream(archive)) {
    if (!ex.write(chunk)) await new Promise<void>((r) => ex.once('drain', () => r()));
  }
  (ex as unknown as { end(): void }).end();
  await done;
}

/** What a path looks like, for tree comparisons. */
export interface NodeSnapshot {
  type: 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  rdev?: number;
  ino: number;
  nlink: number;
  sha256?: string;
  linkname?: string;
  xattrs?: Record<string, string>;
}

/** Every path under `root` (relative, `/`-prefixed; the root itself is `/`), not following links. */
export function snapshotTree(root: string, opts: { xattrs?: boolean } = {}): Record<string, NodeSnapshot> {
  const out: Record<string, NodeSnapshot> = {};
  const visit = (abs: string, rel: string): void => {
    const st = lstatSync(abs);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink'
      : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket';
    const node: NodeSnapshot = {
      type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0,
      mtime: Math.floor(st.mtimeMs / 1000), ino: st.ino, nlink: st.nlink,
    };
    if (type === 'char' || type === 'block') node.rdev = st.rdev;
    if (type === 'file') node.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (type === 'symlink') node.linkname = readlinkSync(abs);
    if (opts.xattrs) {
      const names = llistxattr(abs).filter((n) => !n.startsWith('security.selinux'));
      if (names.length > 0) node.xattrs = Object.fromEntries(names.sort().map((n) => [n, lgetxattr(abs, n)!.toString('latin1')]));
    }
    out[rel] = node;
    if (type === 'directory') for (const name of readdirSync(abs).sort()) visit(join(abs, name), rel === '/' ? `/${name}` : `${rel}/${name}`);
  };
  visit(root, '/');
  return out;
}

/** A raw 512-byte ustar header (for archives tar-stream's pack refuses to write). */
export function rawHeader(name: string, typeflag: string, size: number): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(name, 0, 100, 'utf8');
  buf.write('0000644\0', 100);
  buf.write('0000000\0', 108);
  buf.write('0000000\0', 116);
  buf.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  buf.write('14000000000\0', 136);
  buf.write(typeflag, 156);
  buf.write('ustar\0' + '00', 257, 'latin1');
  buf.write('        ', 148);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return buf;
}
