import { Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';

/** The deflate level of every gzip layer: zlib's default, a fixed choice so digests stay put. */
export const GZIP_LEVEL = 6;

// RFC 1952 header: magic 1f 8b, method 8 (deflate), flags 0 (no name, comment or extra), mtime 0.
const EXPECTED_PREFIX = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
const OS_OFFSET = 9;
const OS_UNIX = 0x03;

/**
 * The stages of a deterministic gzip compressor, to spread into `pipeline`: zlib at `GZIP_LEVEL`
 * followed by a header check. Node's gzip writes no file name and mtime 0 already; the check
 * fails the stream if that ever changes, and pins the OS byte to Unix (3), which zlib otherwise
 * takes from the platform it was compiled for.
 */
export function gzipStages(): [Transform, Transform] {
  return [createGzip({ level: GZIP_LEVEL }), new GzipHeaderPin()];
}

class GzipHeaderPin extends Transform {
  private offset = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.offset <= OS_OFFSET) {
      chunk = Buffer.from(chunk);
      for (let i = 0; i < chunk.length && this.offset + i <= OS_OFFSET; i++) {
        const at = this.offset + i;
        if (at === OS_OFFSET) chunk[i] = OS_UNIX;
        else if (at < EXPECTED_PREFIX.length && chunk[i] !== EXPECTED_PREFIX[at]) {
          callback(new Error(`gzip header byte ${at} is 0x${chunk[i]!.toString(16)}, expected 0x${EXPECTED_PREFIX[at]!.toString(16)}`));
          return;
        }
      }
    }
    this.offset += chunk.length;
    callback(null, chunk);
  }
}
