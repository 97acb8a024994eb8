import { randomBytes } from 'node:crypto';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resourceExhausted } from '@berth/errdefs';

/** The errno code of a Node fs error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** True for ENOENT. */
export function isEnoent(err: unknown): boolean {
  return errnoCode(err) === 'ENOENT';
}

/** Maps a full disk to ResourceExhausted (with the fs error as cause); other errors pass through. */
export function mapFsError(err: unknown, context: string): unknown {
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return resourceExhausted(`${context}: no space left`, { cause: err });
  return err;
}

/** fsyncs a directory so that renames and links inside it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename,
 * fsync of the directory. A crash leaves the old file or the new one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw mapFsError(err, path);
  }
  await fh.close();
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** Unlinks a file, ignoring ENOENT. */
export async function unlinkIfExists(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (!isEnoent(err)) throw err;
  });
}

/**
 * Removes a directory tree by first renaming it aside (atomic: the name is free at once, and
 * nobody creates files in the old tree afterwards), then deleting the renamed tree.
 */
export async function removeDirAtomic(dir: string): Promise<void> {
  const trash = join(dirname(dir), `.trash-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, trash);
  } catch (err) {
    if (isEnoent(err)) return;
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}
