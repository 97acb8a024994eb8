import { extract as createExtract, type Header } from 'tar-stream';
import { BerthError, invalidArgument } from '@berth/errdefs';

/**
 * The one place berth's diff touches tar-stream (a streamx extractor). Everything else sees
 * `TarEntry` values and a plain async body iterator.
 *
 * Contract of `readTar(source, onEntry)`:
 * - entries are handed to `onEntry` one at a time, in archive order; the next header is parsed
 *   only after `onEntry` resolved AND the entry's body was drained. A body the handler did not
 *   read is drained here, so the archive always advances;
 * - backpressure: `source` is pulled only while the extractor accepts more (its `write()`
 *   returning false waits for `drain`), so memory stays bounded by a couple of chunks;
 * - a malformed archive (bad checksum, unknown format, truncated in the middle of an entry or
 *   header, a PAX record over `maxPaxSize`) rejects with InvalidArgument; an error thrown by
 *   `onEntry` or by `source` rejects with that error, unchanged. Nothing hangs: an error on
 *   either side destroys the other.
 * - PAX extended headers are also captured raw (tar-stream decodes PAX values as UTF-8, which
 *   corrupts binary xattrs such as `security.capability`); `xattrs` carry the exact bytes.
 *
 * A tar that ends cleanly at an entry boundary without the two zero blocks is accepted, as Go's
 * archive/tar does; a diffID check catches a cut there.
 */

/** Upper bound of one PAX extended header (all records of one entry); larger is InvalidArgument. */
export const maxPaxSize = 1 << 20;

/** One tar entry as the applier needs it. */
export interface TarEntry {
  /** The name as stored (PAX `path` or GNU long name applied). */
  name: string;
  type: Header['type'];
  /** Permission bits incl. setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.<name>` records, values as raw bytes. */
  xattrs: Map<string, Buffer>;
  /** The body; each chunk may be retained by the consumer (it is not reused). */
  body: AsyncIterable<Uint8Array>;
}

export type EntryHandler = (entry: TarEntry) => Promise<void> | void;

const xattrPrefix = 'SCHILY.xattr.';

/** Reads the tar in `source`, calling `onEntry` for every entry. See the module contract. */
export async function readTar(source: AsyncIterable<Uint8Array>, onEntry: EntryHandler): Promise<void> {
  const ex = createExtract();
  let rawPax: Buffer | undefined;
  let rawPaxGlobal: Buffer | undefined;
  let failure: unknown;
  // Errors of the handler or the source pass through unchanged; only the extractor's own are
  // a malformed archive.
  let passThrough = false;
  // Private hook: see the module comment. Guarded so a tar-stream without it still works (then
  // xattrs fall back to tar-stream's decoded strings).
  const internals = ex as unknown as { _decodeLongHeader?: (buf: Buffer) => void; _header?: { type?: string } };
  const decodeLongHeader = internals._decodeLongHeader;
  if (typeof decodeLongHeader === 'function') {
    internals._decodeLongHeader = function (this: typeof internals, buf: Buffer) {
      const type = this._header?.type;
      if (buf.length > maxPaxSize && (type === 'pax-header' || type === 'pax-global-header')) {
        throw invalidArgument(`tar: extended header of ${buf.length} bytes exceeds ${maxPaxSize}`);
      }
      if (type === 'pax-header') rawPax = Buffer.from(buf);
      else if (type === 'pax-global-header') rawPaxGlobal = Buffer.from(buf);
      decodeLongHeader.call(this, buf);
    };
  }

  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, source, next) => {
      source.on('error', () => {});
      const stream = source as unknown as AsyncIterable<Uint8Array>;
      const pax = rawPax;
      rawPax = undefined;
      const entry = toEntry(header, stream, pax, rawPaxGlobal);
      (async () => {
        await onEntry(entry);
        // Drain whatever the handler left, so the extractor can move to the next header.
        for await (const _chunk of stream) void _chunk;
      })().then(
        () => next(),
        (err: unknown) => {
          if (failure === undefined) {
            failure = err;
            passThrough = true;
          }
          ex.destroy(err as Error);
        },
      );
    });
    ex.on('error', (err: unknown) => {
      failure ??= err;
    });
    ex.on('close', () => (failure ? reject(failure) : resolve()));
  });

  // Awaited below; until then, a rejection must not count as unhandled.
  done.catch(() => {});
  try {
    for await (const chunk of source) {
      if (failure) break;
      if (!ex.write(chunk) && !failure && !(ex as unknown as { destroying: boolean }).destroying) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            ex.off('drain', go);
            ex.off('close', go);
            resolve();
          };
          ex.on('drain', go);
          ex.on('close', go);
        });
      }
    }
    if (!failure) (ex as unknown as { end(): void }).end();
  } catch (err) {
    if (failure === undefined) {
      failure = err;
      passThrough = true;
    }
    ex.destroy(err as Error);
  }
  try {
    await done;
  } catch (err) {
    if (passThrough || BerthError.isInstance(err)) throw err;
    // tar-stream raises plain Errors: a malformed or truncated archive.
    throw invalidArgument(`tar: malformed archive: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function toEntry(header: Header, body: AsyncIterable<Uint8Array>, pax: Buffer | undefined, paxGlobal: Buffer | undefined): TarEntry {
  const xattrs = new Map<string, Buffer>();
  if (pax || paxGlobal) {
    for (const raw of [paxGlobal, pax]) {
      if (!raw) continue;
      for (const [key, value] of parsePax(raw)) {
        if (key.startsWith(xattrPrefix)) xattrs.set(key.slice(xattrPrefix.length), value);
      }
    }
  } else if (header.pax) {
    for (const [key, value] of Object.entries(header.pax as Record<string, string>)) {
      if (key.startsWith(xattrPrefix)) xattrs.set(key.slice(xattrPrefix.length), Buffer.from(value, 'utf8'));
    }
  }
  return {
    name: header.name,
    type: header.type,
    mode: (header.mode ?? 0) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
    size: header.size ?? 0,
    linkname: header.linkname ?? '',
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
    xattrs,
    body,
  };
}

/** PAX records (`<len> <key>=<value>\n`) with values kept as bytes. Malformed is InvalidArgument. */
export function parsePax(buf: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let at = 0;
  while (at < buf.length) {
    // Zero padding after the last record is tolerated.
    if (buf[at] === 0) break;
    const space = buf.indexOf(0x20, at);
    const len = space > at ? Number(buf.toString('latin1', at, space)) : NaN;
    if (!Number.isInteger(len) || len <= space - at + 1 || at + len > buf.length || buf[at + len - 1] !== 0x0a) {
      throw invalidArgument('tar: malformed pax record');
    }
    const record = buf.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalidArgument('tar: malformed pax record');
    out.push([record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1))]);
    at += len;
  }
  return out;
}
