import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestEncoded, digestOf } from '@berth/spec';
import { buildImage } from './build';
import { imageDefinition } from './definitions';
import type { ArchiveFormat, BuiltImage, ImageName } from './types';

/**
 * Bump when the builder's output changes for the same inputs (layer contents, JSON shape, tar
 * details), so caches built by an older builder are not reused.
 */
export const BUILDER_VERSION = 2;

/** The directory cached images live under: `$BERTH_TESTIMAGES_CACHE`, else `<tmpdir>/berth-testimages`. */
export function cacheRoot(): string {
  return process.env.BERTH_TESTIMAGES_CACHE || join(tmpdir(), 'berth-testimages');
}

const pending = new Map<string, Promise<BuiltImage>>();

/**
 * The test image `name` as a `format` archive, built at most once per cache key and reused after.
 * The key covers the builder version and the image's inputs (for busybox, the binary's sha256),
 * so a changed binary or builder gets a fresh directory. Safe across processes: each builds to a
 * unique temporary name and renames into place, and the metadata file that marks an entry as
 * complete is renamed in last. Within a process, calls for the same entry share one build and
 * its result (memoised for the life of the process).
 * Callers must treat the returned archive as read-only.
 */
export async function testImage(name: ImageName, format: ArchiveFormat): Promise<BuiltImage> {
  const def = await imageDefinition(name);
  const key = digestEncoded(digestOf(`berth-testimages v${BUILDER_VERSION}\n${def.cacheInputs}`)).slice(0, 32);
  const dir = join(cacheRoot(), key);
  const archive = join(dir, `${name}-${format}.tar`);
  let result = pending.get(archive);
  if (!result) {
    result = cachedOrBuild(name, format, dir, archive);
    pending.set(archive, result);
    result.catch(() => pending.delete(archive));
  }
  return result;
}

async function cachedOrBuild(name: ImageName, format: ArchiveFormat, dir: string, archive: string): Promise<BuiltImage> {
  const metaPath = `${archive}.json`;
  const cached = await readCached(metaPath, archive);
  if (cached) return cached;
  await mkdir(dir, { recursive: true });
  const built = await buildImage(name, format, archive);
  const partial = `${metaPath}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  try {
    const { path, ...image } = built;
    const meta: CacheMeta = { archiveSize: (await stat(path)).size, image };
    await writeFile(partial, JSON.stringify(meta));
    await rename(partial, metaPath);
  } finally {
    await rm(partial, { force: true });
  }
  return built;
}

async function readCached(metaPath: string, archive: string): Promise<BuiltImage | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as CacheMeta;
    // A size check only: re-hashing a large archive on every use would cost more than it guards.
    const { size } = await stat(archive);
    return size === meta.archiveSize ? { ...meta.image, path: archive } : undefined;
  } catch {
    return undefined;
  }
}

interface CacheMeta {
  archiveSize: number;
  image: Omit<BuiltImage, 'path'>;
}
