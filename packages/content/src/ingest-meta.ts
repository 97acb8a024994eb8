import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound } from '@berth/errdefs';
import type { Digest } from '@berth/spec';
import { isEnoent, writeFileAtomic } from './fs-util';
import type { Status } from './types';

/**
 * The small record kept beside an ingest's data: what the first writer announced. The offset
 * is not stored: it is the data file's size, so it can never disagree with the data, and
 * `updatedAt` is the data file's mtime.
 */
export interface IngestMeta {
  ref: string;
  total: number;
  expected?: Digest;
  startedAt: string;
}

/** File names inside an ingest directory. */
export const ingestFiles = { data: 'data', meta: 'meta.json', lock: 'lock' } as const;

/** Reads an ingest's meta; undefined when there is none (or it is torn). */
export async function readIngestMeta(dir: string): Promise<IngestMeta | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, ingestFiles.meta), 'utf8');
  } catch (err) {
    if (isEnoent(err)) return undefined;
    throw err;
  }
  try {
    const meta = JSON.parse(text) as IngestMeta;
    return typeof meta.ref === 'string' ? meta : undefined;
  } catch {
    return undefined; // written atomically, so only foreign damage gets here
  }
}

/** Writes an ingest's meta atomically. */
export function writeIngestMeta(dir: string, meta: IngestMeta): Promise<void> {
  return writeFileAtomic(join(dir, ingestFiles.meta), JSON.stringify(meta));
}

/** The Status of the ingest in `dir`; `NotFound` (naming `ref`) when there is none. */
export async function readIngestStatus(dir: string, ref: string): Promise<Status> {
  const meta = await readIngestMeta(dir);
  if (!meta || meta.ref !== ref) throw notFound(`ingest ref "${ref}": not found`);
  return statusOf(dir, meta);
}

/** The Status of an ingest from its meta and its data file. */
export async function statusOf(dir: string, meta: IngestMeta): Promise<Status> {
  const startedAt = new Date(meta.startedAt);
  let offset = 0;
  let updatedAt = startedAt;
  try {
    const st = await stat(join(dir, ingestFiles.data));
    offset = st.size;
    updatedAt = st.mtime;
  } catch (err) {
    if (!isEnoent(err)) throw err;
  }
  const status: Status = { ref: meta.ref, offset, total: meta.total, startedAt, updatedAt };
  if (meta.expected) status.expected = meta.expected;
  return status;
}
