import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pack as createPack, type Header, type Pack } from 'tar-stream';
import type { LayerEntry } from './types';

/** 2024-01-01T00:00:00Z in seconds: the mtime of every entry that does not set its own. */
export const FIXED_MTIME = 1704067200;

const tarTypes = { file: 'file', directory: 'directory', symlink: 'symlink', hardlink: 'link' } as const;

/**
 * Orders entries by path (code unit order, so a directory always precedes its contents) and
 * checks the invariants a well-formed layer needs: unique, normalised relative paths; content
 * exactly on files; a link name on links; each hard link naming a file that precedes it.
 * Throws naming the offending path.
 */
export function sortEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Map<string, LayerEntry>();
  for (const entry of sorted) {
    const { path, type } = entry;
    if (path === '' || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new Error(`tar entry "${path}": path must be relative and normalised`);
    }
    if (seen.has(path)) throw new Error(`tar entry ${path}: duplicate path`);
    if (!Number.isInteger(entry.mode) || entry.mode <= 0 || entry.mode > 0o7777) {
      throw new Error(`tar entry ${path}: mode ${entry.mode} must be permission bits in 1..07777`);
    }
    // tar-stream truncates the mtime to a signed 32-bit integer, so later dates would be garbled.
    if (entry.mtime !== undefined && !(Number.isInteger(entry.mtime) && entry.mtime >= 0 && entry.mtime <= 0x7fffffff)) {
      throw new Error(`tar entry ${path}: mtime ${entry.mtime} must be whole seconds in 0..2^31-1`);
    }
    if ((type === 'file') !== (entry.content !== undefined)) {
      throw new Error(`tar entry ${path}: content is required on files and only on files`);
    }
    const isLink = type === 'symlink' || type === 'hardlink';
    if (isLink !== (entry.linkname !== undefined && entry.linkname !== '')) {
      throw new Error(`tar entry ${path}: linkname is required on links and only on links`);
    }
    if (type === 'hardlink' && seen.get(entry.linkname!)?.type !== 'file') {
      throw new Error(`tar entry ${path}: hard link target ${entry.linkname} must be a file earlier in the layer`);
    }
    seen.set(path, entry);
  }
  return sorted;
}

/**
 * The tar stream of `entries`, in `sortEntries` order, with fixed owner names (empty), the
 * entries' own uid/gid/mode/mtime, no atime or ctime, and PAX records only for xattrs or names
 * that ustar cannot hold. File content is pulled one chunk at a time as the consumer reads, so a
 * large file is never held whole. Validation errors throw here; content errors fail the stream.
 */
export function tarStream(entries: readonly LayerEntry[]): Readable {
  const sorted = sortEntries(entries);
  const pack = createPack();
  fill(pack, sorted).catch((err: unknown) => pack.destroy(err as Error));
  return Readable.from(pack, { objectMode: false });
}

async function fill(pack: Pack, entries: readonly LayerEntry[]): Promise<void> {
  for (const entry of entries) {
    const header = toHeader(entry);
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      // The entry callback reports the failure; this only keeps a destroyed sink's error event handled.
      sink.on('error', reject);
      if (entry.type !== 'file') return;
      writeContent(sink, entry).catch((err: unknown) => {
        sink.destroy(err as Error);
        reject(err as Error);
      });
    });
  }
  pack.finalize();
}

async function writeContent(sink: ReturnType<Pack['entry']>, entry: LayerEntry): Promise<void> {
  let written = 0;
  for await (const chunk of entry.content!.chunks()) {
    if (sink.destroyed) return;
    written += chunk.byteLength;
    if (!sink.write(chunk)) await once(sink, 'drain');
  }
  if (written !== entry.content!.size) {
    throw new Error(`tar entry ${entry.path}: content yielded ${written} bytes, declared ${entry.content!.size}`);
  }
  sink.end(undefined);
}

function toHeader(entry: LayerEntry): Partial<Header> & { name: string; pax?: Record<string, string> } {
  const header: Partial<Header> & { name: string; pax?: Record<string, string> } = {
    name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
    type: tarTypes[entry.type],
    mode: entry.mode,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    uname: '',
    gname: '',
    size: entry.content?.size ?? 0,
    mtime: new Date((entry.mtime ?? FIXED_MTIME) * 1000),
    ...(entry.linkname !== undefined && { linkname: entry.linkname }),
  };
  if (entry.xattrs && Object.keys(entry.xattrs).length > 0) {
    header.pax = {};
    for (const name of Object.keys(entry.xattrs).sort()) header.pax[`SCHILY.xattr.${name}`] = entry.xattrs[name]!;
  }
  return header;
}
