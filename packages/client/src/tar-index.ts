import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { invalidArgument } from '@berth/errdefs';

/** One regular file inside a tar archive: where its data starts and how long it is. */
export interface TarFile {
  /** The path, without a leading `./` or `/`. */
  name: string;
  offset: number;
  size: number;
}

const BLOCK = 512;

/**
 * Lists the regular files of an uncompressed tar archive (ustar, with pax `path` and GNU long
 * names) without reading their data, so that an importer can stream each one from the file by
 * offset. InvalidArgument for a compressed or malformed archive.
 */
export async function indexTar(path: string): Promise<Map<string, TarFile>> {
  const fh = await fsp.open(path, 'r');
  try {
    return await scan(fh, path);
  } finally {
    await fh.close();
  }
}

async function scan(fh: FileHandle, path: string): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const header = Buffer.alloc(BLOCK);
  let pos = 0;
  let longName: string | undefined;
  const { size: total } = await fh.stat();
  for (;;) {
    const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
    if (pos === 0 && bytesRead >= 2 && header[0] === 0x1f && header[1] === 0x8b) throw invalidArgument(`${path}: a compressed archive; decompress it first (gunzip)`);
    if (pos === 0 && bytesRead < BLOCK) throw invalidArgument(`${path}: not a tar archive (${bytesRead} bytes)`);
    if (bytesRead < BLOCK || header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw invalidArgument(`${path}: not a tar archive (bad header checksum at offset ${pos})`);
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 0x30);
    const dataAt = pos + BLOCK;
    if (dataAt + size > total) throw invalidArgument(`${path}: truncated tar archive`);
    const read = async (): Promise<string> => {
      const buf = Buffer.alloc(size);
      await fh.read(buf, 0, size, dataAt);
      return buf.toString('utf8');
    };
    if (type === 'L') {
      longName = (await read()).replace(/\0+$/, '');
    } else if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(await read());
      if (m) longName = m[1];
    } else {
      let name = longName ?? cstring(header.subarray(0, 100));
      const prefix = cstring(header.subarray(345, 500));
      if (longName === undefined && prefix && header.subarray(257, 262).toString() === 'ustar') name = `${prefix}/${name}`;
      longName = undefined;
      if (type === '0' || type === '\0' || type === '7') {
        name = name.replace(/^(\.\/|\/)+/, '');
        files.set(name, { name, offset: dataAt, size });
      }
    }
    pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

function cstring(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function octal(b: Buffer): number {
  if (b[0]! & 0x80) {
    // GNU base-256 for sizes past 8 GiB
    let n = 0;
    for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = cstring(b).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === octal(h.subarray(148, 156));
}
