/**
 * A small deterministic tar encoder (ustar headers, PAX extended headers when needed) for the
 * layers `Comparer` writes. Not tar-stream's pack: its PAX values are JS strings encoded as
 * UTF-8, which cannot carry binary xattr values such as `security.capability`; here PAX values
 * are bytes. Owner names are left empty, no atime/ctime records: the same tree gives the same
 * bytes.
 */

/** One entry to write. `mtime` in whole seconds; `mode` permission bits (07777). */
export interface WriteEntry {
  name: string;
  type: 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Buffer>;
}

const typeflags: Record<WriteEntry['type'], string> = {
  file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6',
};

/** Two zero blocks: the end of an archive. */
export const endOfArchive = Buffer.alloc(1024);

/** The zero padding that follows a body of `size` bytes. */
export function padding(size: number): Buffer {
  const rest = size % 512;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - rest);
}

/** The header block(s) of `e`: a PAX header first when a field does not fit ustar. */
export function encodeHeader(e: WriteEntry): Buffer {
  const name = e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const records: Array<[string, Buffer]> = [];
  const nameFits = Buffer.byteLength(name) <= 100 && isAscii(name);
  if (!nameFits) records.push(['path', Buffer.from(name)]);
  const linkname = e.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) records.push(['linkpath', Buffer.from(linkname)]);
  if (e.size > 0o77777777777) records.push(['size', Buffer.from(String(e.size))]);
  if (e.uid > 0o7777777) records.push(['uid', Buffer.from(String(e.uid))]);
  if (e.gid > 0o7777777) records.push(['gid', Buffer.from(String(e.gid))]);
  for (const [key, value] of [...(e.xattrs ?? new Map<string, Buffer>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    records.push([`SCHILY.xattr.${key}`, value]);
  }
  const main = ustar(nameFits ? name : name.slice(0, 99).replace(/[^\x20-\x7e]/g, '_'), e, typeflags[e.type], linkname);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const paxHeader = ustar('PaxHeader', { ...e, type: 'file', size: pax.length, uid: 0, gid: 0, mode: 0o644 }, 'x', '');
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function ustar(name: string, e: WriteEntry, typeflag: string, linkname: string): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(name, 0, 100, 'utf8');
  octal(buf, 100, 8, e.mode & 0o7777);
  octal(buf, 108, 8, Math.min(e.uid, 0o7777777));
  octal(buf, 116, 8, Math.min(e.gid, 0o7777777));
  octal(buf, 124, 12, Math.min(e.size, 0o77777777777));
  octal(buf, 136, 12, Math.max(0, Math.min(e.mtime, 0o77777777777)));
  buf.write(typeflag, 156, 1, 'latin1');
  if (Buffer.byteLength(linkname) <= 100 && isAscii(linkname)) buf.write(linkname, 157, 100, 'utf8');
  buf.write('ustar\x0000', 257, 8, 'latin1');
  octal(buf, 329, 8, e.devmajor ?? 0);
  octal(buf, 337, 8, e.devminor ?? 0);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return buf;
}

function octal(buf: Buffer, at: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}
