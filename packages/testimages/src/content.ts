import { createReadStream } from 'node:fs';
import { createDigester, type Digest } from '@berth/spec';
import type { Content } from './types';

const CHUNK = 1 << 20;

/** Content held in memory: small files (configs, scripts, /etc/passwd). */
export function bytesContent(data: Uint8Array | string): Content {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return {
    size: bytes.byteLength,
    async *chunks() {
      if (bytes.byteLength > 0) yield bytes;
    },
  };
}

/**
 * Content read from a file on disk each time it is streamed. `size` is the size the caller saw
 * when it decided to use the file; a file that has changed size since fails the stream.
 */
export function fileContent(path: string, size: number): Content {
  return {
    size,
    async *chunks() {
      let seen = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
        seen += (chunk as Buffer).byteLength;
        yield chunk as Buffer;
      }
      if (seen !== size) throw new Error(`file ${path}: read ${seen} bytes, expected ${size}`);
    },
  };
}

/**
 * `size` bytes of pseudo-random lower-case letters `a`–`p` from the mulberry32 generator seeded
 * with `seed`. Four bits of entropy per byte: not trivially compressible like zeros, yet gzip still
 * halves it, so the compressor does real work. Generated a chunk at a time, byte by byte, so the
 * output does not depend on the host's endianness.
 */
export function prngContent(seed: number, size: number): Content {
  return {
    size,
    async *chunks() {
      let state = seed >>> 0;
      for (let offset = 0; offset < size; offset += CHUNK) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - offset));
        for (let i = 0; i < chunk.length; i += 4) {
          state = (state + 0x6d2b79f5) >>> 0;
          let t = Math.imul(state ^ (state >>> 15), state | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          const word = (t ^ (t >>> 14)) >>> 0;
          for (let b = 0; b < 4 && i + b < chunk.length; b++) chunk[i + b] = 0x61 + ((word >>> (8 * b)) & 0x0f);
        }
        yield chunk;
      }
    },
  };
}

/** The sha256 digest of `content`, streamed. */
export async function digestContent(content: Content): Promise<Digest> {
  const digester = createDigester();
  for await (const chunk of content.chunks()) digester.update(chunk);
  return digester.digest();
}
