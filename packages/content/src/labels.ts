import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { validateLabels, type Digest } from '@berth/spec';
import { invalidArgument } from '@berth/errdefs';
import { isEnoent, unlinkIfExists, writeFileAtomic } from './fs-util';
import type { Layout } from './layout';

/** What the sidecar of a blob holds. */
export interface LabelRecord {
  labels: Record<string, string>;
  updatedAt?: string;
}

/**
 * Per-blob labels, one small JSON file per labelled blob (`labels/<alg>/<hex>.json`), written
 * atomically. A blob without labels has no file. Updates of one digest are serialized within
 * the process; concurrent updates of one blob from several processes may lose one of them
 * (the last writer wins), which containerd's metadata layer avoids with a transaction.
 */
export class LabelsStore {
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(private readonly layout: Layout) {}

  /** The blob's label record; empty labels when there is none. */
  async read(digest: Digest): Promise<LabelRecord> {
    try {
      const value = JSON.parse(await readFile(this.layout.labelsPath(digest), 'utf8')) as LabelRecord;
      return { labels: { ...value.labels }, ...(value.updatedAt ? { updatedAt: value.updatedAt } : {}) };
    } catch (err) {
      if (isEnoent(err) || err instanceof SyntaxError) return { labels: {} };
      throw err;
    }
  }

  /** Replaces the blob's labels (removes the file when `labels` is empty). */
  async write(digest: Digest, labels: Record<string, string>, updatedAt?: Date): Promise<void> {
    const path = this.layout.labelsPath(digest);
    if (Object.keys(labels).length === 0 && updatedAt === undefined) return unlinkIfExists(path);
    await mkdir(dirname(path), { recursive: true });
    const record: LabelRecord = { labels, ...(updatedAt ? { updatedAt: updatedAt.toISOString() } : {}) };
    await writeFileAtomic(path, JSON.stringify(record));
  }

  /** Removes the blob's labels. */
  remove(digest: Digest): Promise<void> {
    return unlinkIfExists(this.layout.labelsPath(digest));
  }

  /** Runs `fn` with the digest's labels locked against other updates in this process. */
  async exclusive<T>(digest: Digest, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(digest) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(digest, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(digest) === tail) this.#locks.delete(digest);
    }
  }
}

/**
 * Applies an update to `current` labels. `fieldpaths`: `labels` replaces all (dropping empty
 * values), `labels.<key>` sets or (with an empty or absent value) deletes one key; none means
 * `labels`. `digest`, `size`, `createdAt` (any spelling) are immutable and anything else is
 * unknown: both InvalidArgument.
 */
export function applyLabelUpdate(
  current: Record<string, string>,
  update: Record<string, string> | undefined,
  fieldpaths: string[] | undefined,
): Record<string, string> {
  const given = update ?? {};
  const paths = fieldpaths && fieldpaths.length > 0 ? fieldpaths : ['labels'];
  let next = { ...current };
  for (const path of paths) {
    if (path === 'labels') {
      next = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== ''));
    } else if (path.startsWith('labels.') && path.length > 'labels.'.length) {
      const key = path.slice('labels.'.length);
      const value = Object.hasOwn(given, key) ? given[key] : undefined;
      if (value === undefined || value === '') delete next[key];
      else next[key] = value;
    } else if (/^(digest|size|created_?at)$/i.test(path)) {
      throw invalidArgument(`fieldpath "${path}": immutable`);
    } else {
      throw invalidArgument(`fieldpath "${path}": cannot be updated`);
    }
  }
  validateLabels(next);
  return next;
}
