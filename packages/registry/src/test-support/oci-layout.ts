import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { digestEncoded, type Descriptor } from '@berth/spec';

/** The files of an uncompressed tar by name: where each one's data starts and its size. */
export async function tarIndex(path: string): Promise<Map<string, { offset: number; size: number }>> {
  const fh = await open(path, 'r');
  const out = new Map<string, { offset: number; size: number }>();
  try {
    const header = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, 512, pos);
      if (bytesRead < 512 || header.every((b) => b === 0)) break;
      const field = (start: number, len: number): string => header.subarray(start, start + len).toString('utf8').replace(/\0.*$/s, '');
      const size = parseInt(field(124, 12).trim() || '0', 8);
      const type = field(156, 1);
      const prefix = field(345, 155);
      let name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
      const data = pos + 512;
      if (type === 'x') {
        const pax = Buffer.alloc(size);
        await fh.read(pax, 0, size, data);
        const m = /\d+ path=([^\n]*)\n/.exec(pax.toString('utf8'));
        longName = m?.[1];
      } else {
        if (longName) name = longName;
        longName = undefined;
        if (type === '0' || type === '') out.set(name.replace(/^\.\//, ''), { offset: data, size });
      }
      pos = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    await fh.close();
  }
  return out;
}

/** Reads blobs out of an oci-archive (an OCI image layout in a tar). */
export interface OciArchive {
  open(desc: Descriptor): Readable;
  read(desc: Descriptor): Promise<Buffer>;
  has(desc: Descriptor): boolean;
}

export async function openOciArchive(path: string): Promise<OciArchive> {
  const index = await tarIndex(path);
  const entry = (desc: Descriptor): { offset: number; size: number } => {
    const e = index.get(`blobs/sha256/${digestEncoded(desc.digest)}`);
    if (!e) throw new Error(`${path}: no blob ${desc.digest}`);
    return e;
  };
  const self: OciArchive = {
    has: (desc) => index.has(`blobs/sha256/${digestEncoded(desc.digest)}`),
    open(desc) {
      const e = entry(desc);
      if (e.size === 0) return createReadStream(path, { start: 1, end: 0 });
      return createReadStream(path, { start: e.offset, end: e.offset + e.size - 1 });
    },
    async read(desc) {
      const chunks: Buffer[] = [];
      for await (const c of self.open(desc)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
  };
  return self;
}
