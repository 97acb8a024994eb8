import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { DigestAlgorithm } from '@berth/spec';

const chunk = 8 << 20;

/**
 * Hashes the first `size` bytes of an open file, reading ahead one chunk while hashing the
 * previous one. Used to restore a writer's digest state when an ingest is resumed or truncated.
 */
export async function hashFile(fh: FileHandle, size: number, algorithm: DigestAlgorithm): Promise<Hash> {
  const hash = createHash(algorithm);
  if (size === 0) return hash;
  const buffers = [Buffer.allocUnsafe(Math.min(chunk, size)), Buffer.allocUnsafe(Math.min(chunk, size))];
  const readAt = async (buffer: Buffer, position: number): Promise<Buffer> => {
    const want = Math.min(buffer.length, size - position);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(buffer, got, want - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buffer.subarray(0, got);
  };
  let position = 0;
  let next = readAt(buffers[0]!, 0);
  for (let i = 0; position < size; i++) {
    const data = await next;
    if (data.length === 0) break;
    position += data.length;
    if (position < size) next = readAt(buffers[(i + 1) % 2]!, position);
    hash.update(data);
  }
  return hash;
}
