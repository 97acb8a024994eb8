import { join } from 'node:path';
import type { BlobCache } from '@berth/client';
import { cacheRoot, readCacheFile, writeCacheFile } from './cache-files';

/** The largest blob kept: manifests, indexes and configs are a few kB. */
const MAX_BLOB = 1 << 20;

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
      return path ? readCacheFile(path) : undefined;
    },
    set(digest, blob) {
      const path = pathOf(digest);
      if (path && blob.length <= MAX_BLOB) writeCacheFile(path, blob);
    },
  };
}
