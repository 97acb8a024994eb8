import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, ErrorKind, invalidArgument, kindOf } from '@berth/errdefs';
import { extract } from 'tar-stream';

/**
 * Reading an image archive (a tar) entry by entry with tar-stream, without holding it whole:
 * each entry's bytes stream through once, and the next header is parsed only after the
 * previous entry is drained.
 */

/** One entry of an archive. `stream` must be consumed (or drained) before the next entry comes. */
export interface ArchiveEntry {
  /** Cleaned: no `./`, no duplicate or trailing `/`. Never absolute, never with a `..` segment. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  /** For symlinks: the target, resolved against the entry's directory and cleaned. */
  target?: string;
  stream: Readable;
}

/**
 * The cleaned form of an archive path. InvalidArgument naming it when it is empty, absolute,
 * or has a `..` segment (an archive must not name anything outside itself).
 */
export function cleanArchivePath(name: string, what = 'archive entry'): string {
  if (typeof name !== 'string' || name === '') throw invalidArgument(`${what}: empty path`);
  if (name.startsWith('/')) throw invalidArgument(`${what} ${JSON.stringify(name)}: absolute path`);
  if (name.split('/').includes('..')) throw invalidArgument(`${what} ${JSON.stringify(name)}: path with ".." segment`);
  const cleaned = posix.normalize(name).replace(/\/+$/, '');
  if (cleaned === '' || cleaned === '.') throw invalidArgument(`${what} ${JSON.stringify(name)}: names the archive root`);
  return cleaned;
}

/** Reads a whole entry into memory; InvalidArgument naming it when it is larger than `limit`. */
export async function readEntry(entry: ArchiveEntry, limit: number): Promise<Buffer> {
  if (entry.size > limit) throw invalidArgument(`archive entry ${entry.path}: ${entry.size} bytes, more than the ${limit} allowed`);
  const chunks: Buffer[] = [];
  for await (const chunk of entry.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Consumes what is left of an entry's bytes (a no-op when it was read to the end). */
export async function drainEntry(entry: ArchiveEntry): Promise<void> {
  if (entry.stream.readableEnded) return;
  for await (const _ of entry.stream) {
    // discard
  }
}

function entryType(type: string | null | undefined): ArchiveEntry['type'] {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
    case 'symlink':
      return type;
    default:
      return 'other';
  }
}

// Errors raised by the tar parser or the source, also when they surface through an entry's stream
// in the consumer's hands, so that `asArchiveError` can tell them from the consumer's own.
const streamErrors = new WeakSet<object>();

/**
 * `err` as the consumer of `readArchive` should throw it: an error of the tar data or the source
 * (also one read through an entry's stream) becomes InvalidArgument; anything else is unchanged.
 */
export function archiveError(err: unknown): unknown {
  return typeof err === 'object' && err !== null && streamErrors.has(err) ? asArchiveError(err) : err;
}

function asArchiveError(err: unknown): Error {
  if (BerthError.isInstance(err) || kindOf(err) === ErrorKind.Canceled) return err as Error;
  const message = err instanceof Error ? err.message : String(err);
  return invalidArgument(`archive: truncated or malformed tar: ${message}`, { cause: err });
}

/**
 * The entries of the tar `source`, in archive order. The consumer must drain each entry before
 * asking for the next. Malformed or truncated tar data, and errors of `source`, are thrown as
 * InvalidArgument (a BerthError from the source keeps its kind); so are entries with bad paths
 * (see `cleanArchivePath`) and symlinks whose target leaves the archive. Breaking out of the
 * loop destroys the parser and `source`.
 */
export async function* readArchive(source: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<ArchiveEntry> {
  const input = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  const ex = extract();
  let failure: unknown;
  const fail = (err: unknown): void => {
    if (typeof err === 'object' && err !== null) streamErrors.add(err);
    failure ??= err;
    ex.destroy(err as Error);
  };
  input.on('error', fail);
  const onAbort = (): void => fail(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  input.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    signal?.throwIfAborted();
    for await (const stream of ex) {
      const header = stream.header;
      const type = entryType(header.type);
      const path = cleanArchivePath(header.name);
      const entry: ArchiveEntry = { path, type, size: header.size ?? 0, stream: stream as unknown as Readable };
      stream.on('error', (err: unknown) => {
        if (typeof err === 'object' && err !== null) streamErrors.add(err);
      });
      if (type === 'symlink') {
        const target = posix.normalize(posix.join(posix.dirname(path), header.linkname ?? ''));
        if (target === '..' || target.startsWith('../') || target.startsWith('/')) {
          throw invalidArgument(`archive entry ${path}: symlink target ${JSON.stringify(header.linkname)} leaves the archive`);
        }
        entry.target = target;
      }
      yield entry;
      await drainEntry(entry);
    }
    if (failure !== undefined) throw failure;
  } catch (err) {
    throw asArchiveError(failure ?? err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    input.off('error', fail);
    input.unpipe(ex as unknown as NodeJS.WritableStream);
    if (!ex.destroyed) ex.destroy();
    if (!input.destroyed) input.destroy();
  }
}
