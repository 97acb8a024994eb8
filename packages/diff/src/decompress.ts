import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { compressionOf, createDigester, MediaType, isManifestMediaType, isIndexMediaType, isConfigMediaType, type Compression, type Digest } from '@berth/spec';
import { invalidArgument, notImplemented } from '@berth/errdefs';
import { through } from './through';

/**
 * The layer byte pipeline: compressed blob chunks in, uncompressed tar chunks out, with the
 * diffID (sha256 of the uncompressed bytes) and size counted on the way.
 */

/** Chunk size of the decompressors' output: large chunks keep per-chunk overhead low. */
const chunkSize = 256 * 1024;

/**
 * The compression of a layer media type. A known non-layer type (manifest, index, config) is
 * InvalidArgument; an unknown type NotImplemented.
 */
export function layerCompression(mediaType: string): Compression {
  const compression = compressionOf(mediaType);
  if (compression) return compression;
  if (isManifestMediaType(mediaType) || isIndexMediaType(mediaType) || isConfigMediaType(mediaType) || Object.values(MediaType).includes(mediaType as MediaType)) {
    throw invalidArgument(`media type ${mediaType}: not a layer`);
  }
  throw notImplemented(`media type ${mediaType}: unsupported layer media type`);
}

/** Counts and hashes what passes through. `digest()` is valid once the iteration ended. */
export interface Measured extends AsyncIterable<Uint8Array> {
  readonly size: number;
  digest(): Digest;
}

/** Decompresses `source` per `compression`. Corrupt or truncated input is InvalidArgument. */
export function decompress(source: AsyncIterable<Uint8Array>, compression: Compression): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
      return source;
    case 'gzip':
      return gunzip(source);
    case 'zstd':
      return unzstd(source);
  }
}

/** Wraps `source`, hashing and counting its bytes. */
export function measure(source: AsyncIterable<Uint8Array>): Measured {
  const digester = createDigester();
  let size = 0;
  let result: Digest | undefined;
  return {
    get size() {
      return size;
    },
    digest: () => (result ??= digester.digest()),
    async *[Symbol.asyncIterator]() {
      for await (const chunk of source) {
        digester.update(chunk);
        size += chunk.byteLength;
        yield chunk;
      }
    },
  };
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* through(source, createGunzip({ chunkSize }));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) throw invalidArgument(`gzip: corrupt or truncated stream: ${e.message}`, { cause: err });
    throw err;
  }
}

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  // fzstd reads concatenated frames; `push(…, true)` at the end throws when the last frame is cut.
  const d = new Decompress((chunk) => {
    if (chunk.byteLength > 0) out.push(chunk);
  });
  const push = (chunk: Uint8Array, final: boolean): Uint8Array[] => {
    try {
      d.push(chunk, final);
    } catch (err) {
      throw invalidArgument(`zstd: corrupt or truncated stream: ${(err as Error).message ?? String(err)}`, { cause: err });
    }
    const ready = out;
    out = [];
    return ready;
  };
  for await (const chunk of source) yield* push(chunk, false);
  yield* push(new Uint8Array(0), true);
}
