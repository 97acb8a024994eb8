import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** `$XDG_CACHE_HOME/berth` (or `~/.cache/berth`): this user's berth cache (V8 code cache, image blobs). */
export function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'berth');
}

/** A cache file's bytes, or undefined when it cannot be read. */
export function readCacheFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Writes a cache file next to its final name, then renames it: readers never see half a file.
 * A cache that cannot be written (a read-only home, a full disk) is skipped silently.
 */
export function writeCacheFile(path: string, data: Uint8Array): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // run without it
  }
}
