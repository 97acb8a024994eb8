import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { digestOf, type Digest } from '@berth/spec';
import { extract, type Header } from 'tar-stream';

/** Test-only: one entry read back from a tar, its name without a trailing `/`. */
export interface TarRecord {
  name: string;
  header: Header;
  data: Buffer;
}

/**
 * Test-only: every entry of a tar (gunzipped first when it starts with the gzip magic), in
 * archive order, keyed by name. Holds the whole archive in memory; fine for test images.
 */
export async function readTar(source: string | Buffer): Promise<Map<string, TarRecord>> {
  let bytes = typeof source === 'string' ? await readFile(source) : source;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const records = new Map<string, TarRecord>();
  const ex = extract();
  Readable.from([bytes]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const name = entry.header.name.replace(/\/$/, '');
    if (records.has(name)) throw new Error(`tar: duplicate entry ${name}`);
    records.set(name, { name, header: entry.header, data: Buffer.concat(chunks) });
  }
  return records;
}

/** Test-only: the entry `name` of `records`, or a thrown error naming it. */
export function record(records: ReadonlyMap<string, TarRecord>, name: string): TarRecord {
  const found = records.get(name);
  if (!found) throw new Error(`tar: no entry ${name} (have ${[...records.keys()].join(', ')})`);
  return found;
}

/** Test-only: parses the JSON in entry `name`. */
export function json<T = any>(records: ReadonlyMap<string, TarRecord>, name: string): T {
  return JSON.parse(record(records, name).data.toString('utf8')) as T;
}

/** Test-only: sha256 of `data` as a digest. */
export const sha256 = (data: Uint8Array): Digest => digestOf(data);
