import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BlobCache } from '@berth/client';

/** The largest blob kept: manifests, indexes and configs are a few kB. */
const MAX_BLOB = 1 << 20;

/** `$XDG_CACHE_HOME/berth` (or `~/.cache/berth`): this user's berth cache (the launcher keeps its code cache there too). */
export function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'berth');
}

/**
 * The manifests and configs of the images this user ran, by digest, under
 * `<cacheRoot>/blobs/<algorithm>/<hex>`: a `run` of an image run before reads neither from
 * berthd. A digest names one content forever, so an entry never goes stale; entries are written
 * next to their final name and renamed (no reader sees half a file), and a read is checked
 * against the descriptor's size. A cache that cannot be read or written is ignored.
 */
export function fileBlobCache(root = join(cacheRoot(), 'blobs')): BlobCache {
  const pathOf = (digest: string): string | undefined => {
    const m = /^(sha256|sha512):([0-9a-f]{64,128})$/.exec(digest);
    return m ? join(root, m[1]!, m[2]!) : undefined;
  };
  return {
    get(digest) {
      const path = pathOf(digest);
      if (!path) return undefined;
      try {
        return readFileSync(path);
      } catch {
        return undefined;
      }
    },
    set(digest, blob) {
      const path = pathOf(digest);
      if (!path || blob.length > MAX_BLOB) return;
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, blob, { mode: 0o600 });
        renameSync(tmp, path);
      } catch {
        // a read-only home or a full disk: the next run reads from berthd again
      }
    },
  };
}
