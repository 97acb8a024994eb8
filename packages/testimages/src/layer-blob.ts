import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, type Descriptor, type Digest, type Digester } from '@berth/spec';
import { gzipStages } from './gzip';
import { tarStream } from './tar-writer';
import type { LayerEntry } from './types';

/** A layer blob written to disk: its descriptor, its diff ID, and the file holding it. */
export interface LayerBlob {
  descriptor: Descriptor;
  diffId: Digest;
  path: string;
}

/**
 * Streams the tar of `entries`, gzipped when `compression` is `gzip`, into a new file at `path`,
 * digesting the uncompressed tar (the diff ID) and the stored bytes (the blob digest) on the way.
 * For an uncompressed layer the two digests are the same.
 */
export async function writeLayerBlob(
  entries: readonly LayerEntry[],
  compression: 'gzip' | 'none',
  mediaType: string,
  path: string,
): Promise<LayerBlob> {
  const diff = new DigestTap();
  const stored = compression === 'gzip' ? new DigestTap() : diff;
  const stages = compression === 'gzip' ? [...gzipStages(), stored] : [];
  await pipeline(tarStream(entries), diff, ...stages, createWriteStream(path, { flags: 'wx' }));
  const digest = stored.digest();
  return { descriptor: { mediaType, digest, size: stored.size }, diffId: diff.digest(), path };
}

/** A pass-through that digests (sha256) and counts what flows through it. */
export class DigestTap extends Transform {
  size = 0;
  private readonly digester: Digester = createDigester();
  private result: Digest | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.byteLength;
    this.digester.update(chunk);
    callback(null, chunk);
  }

  /** The digest of everything that passed; valid once the stream has finished. */
  digest(): Digest {
    this.result ??= this.digester.digest();
    return this.result;
  }
}
