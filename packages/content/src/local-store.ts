import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { canceled, failedPrecondition, internal, invalidArgument, isNotFound, notFound } from '@berth/errdefs';
import { canonicalAlgorithm, digestAlgorithm, isDigest, parseFilters, type Digest } from '@berth/spec';
import { infoAdaptor, statusAdaptor } from './adaptors';
import { errnoCode, isEnoent, removeDirAtomic, syncDir } from './fs-util';
import { preallocate } from './disk-hints';
import { hashFile } from './hash-file';
import { acquireIngestLock, type IngestLock } from './ingest-lock';
import { ingestFiles, readIngestMeta, readIngestStatus, statusOf, writeIngestMeta, type IngestMeta } from './ingest-meta';
import { checkDigest, checkRef, isIngestKey, Layout } from './layout';
import { applyLabelUpdate, LabelsStore } from './labels';
import { LocalReaderAt } from './reader';
import type { BlobRef, ContentStore, Info, ReaderAt, Status, WalkFunc, Writer, WriterOptions } from './types';
import { contentExists, LocalWriter } from './writer';

/** Options of `createLocalStore`. */
export interface LocalStoreOptions {
  /** The store's directory; created on first write. */
  root: string;
}

/**
 * A ContentStore on a local file system (layout in `layout.ts`). Several stores, in one process or
 * many, may share a root: ingests are locked per ref across processes, blobs are published by an
 * atomic link, and labels are written atomically.
 */
export class LocalContentStore implements ContentStore {
  readonly root: string;
  readonly #layout: Layout;
  readonly #labels: LabelsStore;

  constructor(options: LocalStoreOptions) {
    if (!options?.root) throw invalidArgument('content store root must not be empty');
    this.root = options.root;
    this.#layout = new Layout(options.root);
    this.#labels = new LabelsStore(this.#layout);
  }

  async info(digest: Digest | string): Promise<Info> {
    const d = checkDigest(digest);
    let st;
    try {
      st = await stat(this.#layout.blobPath(d));
    } catch (err) {
      if (isEnoent(err)) throw notFound(`content ${d}: not found`);
      throw err;
    }
    const record = await this.#labels.read(d);
    const updatedAt = record.updatedAt ? new Date(record.updatedAt) : st.mtime;
    return { digest: d, size: st.size, createdAt: st.mtime, updatedAt, labels: record.labels };
  }

  async update(info: Pick<Info, 'digest'> & Partial<Pick<Info, 'labels'>>, fieldpaths?: string[]): Promise<Info> {
    const d = checkDigest(info?.digest);
    applyLabelUpdate({}, info.labels, fieldpaths); // reject bad fieldpaths and labels first
    return this.#labels.exclusive(d, async () => {
      const current = await this.info(d);
      const labels = applyLabelUpdate(current.labels, info.labels, fieldpaths);
      const updatedAt = new Date();
      await this.#labels.write(d, labels, updatedAt);
      return { ...current, labels, updatedAt };
    });
  }

  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    const filter = parseFilters(...filters);
    for (const algorithm of await listDir(join(this.root, 'blobs'))) {
      for (const name of await listDir(this.#layout.blobsDir(algorithm))) {
        const digest = `${algorithm}:${name}`;
        if (!isDigest(digest)) continue;
        let info: Info;
        try {
          info = await this.info(digest);
        } catch (err) {
          if (isNotFound(err)) continue; // deleted meanwhile
          throw err;
        }
        if (filter.match(infoAdaptor(info))) await fn(info);
      }
    }
  }

  async delete(digest: Digest | string): Promise<void> {
    const d = checkDigest(digest);
    try {
      await unlink(this.#layout.blobPath(d));
    } catch (err) {
      if (isEnoent(err)) throw notFound(`content ${d}: not found`);
      throw err;
    }
    await this.#labels.remove(d);
  }

  async readerAt(desc: BlobRef): Promise<ReaderAt> {
    const d = checkDigest(desc?.digest);
    let fh;
    try {
      fh = await open(this.#layout.blobPath(d), 'r');
    } catch (err) {
      if (isEnoent(err)) throw notFound(`content ${d}: not found`);
      throw err;
    }
    const { size } = await fh.stat();
    return new LocalReaderAt(fh, size, d);
  }

  async status(ref: string): Promise<Status> {
    return readIngestStatus(this.#layout.ingestDir(checkRef(ref)), ref);
  }

  async listStatuses(...filters: string[]): Promise<Status[]> {
    const filter = parseFilters(...filters);
    const statuses: Status[] = [];
    for (const name of await listDir(this.#layout.ingestRoot())) {
      if (!isIngestKey(name)) continue;
      const dir = join(this.#layout.ingestRoot(), name);
      const meta = await readIngestMeta(dir).catch(() => undefined);
      if (!meta) continue;
      const status = await statusOf(dir, meta);
      if (filter.match(statusAdaptor(status))) statuses.push(status);
    }
    return statuses;
  }

  async abort(ref: string): Promise<void> {
    const dir = this.#layout.ingestDir(checkRef(ref));
    const meta = await readIngestMeta(dir);
    if (!meta || meta.ref !== ref) throw notFound(`ingest ref "${ref}": not found`);
    const lock = await acquireIngestLock(dir, ref);
    try {
      await removeDirAtomic(dir); // takes the lock file with it
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  async writer(options: WriterOptions): Promise<Writer> {
    const ref = checkRef(options?.ref);
    const total = options.total ?? 0;
    if (!Number.isSafeInteger(total) || total < 0) throw invalidArgument(`ref "${ref}": invalid total ${total}`);
    const expected = options.expected !== undefined && options.expected !== '' ? checkDigest(options.expected) : undefined;
    if (options.signal?.aborted) throw canceled(`ref "${ref}": writer canceled`, { cause: options.signal.reason });
    if (expected && (await this.#exists(expected))) throw contentExists(expected);

    const dir = this.#layout.ingestDir(ref);
    const lock = await this.#lockIngest(dir, ref);
    try {
      const meta = await this.#prepareMeta(dir, ref, total, expected);
      const fh = await open(join(dir, ingestFiles.data), constants.O_RDWR | constants.O_CREAT, 0o644);
      try {
        const algorithm = meta.expected ? digestAlgorithm(meta.expected) : canonicalAlgorithm;
        const { size } = await fh.stat();
        await preallocate(fh.fd, size, meta.total - size);
        const hash = await hashFile(fh, size, algorithm);
        const host = {
          publish: (digest: Digest, labels: Record<string, string> | undefined) =>
            this.#publish(join(dir, ingestFiles.data), digest, labels),
          removeIngest: () => removeDirAtomic(dir),
        };
        const signal = options.signal;
        return new LocalWriter({ meta, fh, lock, offset: size, hash, algorithm, host, ...(signal ? { signal } : {}) });
      } catch (err) {
        await fh.close();
        throw err;
      }
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  async #lockIngest(dir: string, ref: string): Promise<IngestLock> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dir, { recursive: true });
      try {
        return await acquireIngestLock(dir, ref);
      } catch (err) {
        // The directory was removed (abort, commit) between mkdir and the lock: start over.
        if (!isEnoent(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Reads the ingest's meta (resuming) or writes a new one; FailedPrecondition on a mismatch. */
  async #prepareMeta(dir: string, ref: string, total: number, expected: Digest | undefined): Promise<IngestMeta> {
    const existing = await readIngestMeta(dir);
    if (!existing) {
      const meta: IngestMeta = { ref, total, startedAt: new Date().toISOString(), ...(expected ? { expected } : {}) };
      await writeIngestMeta(dir, meta);
      return meta;
    }
    if (existing.ref !== ref) throw internal(`ingest ref "${ref}": directory belongs to ref "${existing.ref}"`);
    if (total > 0 && existing.total > 0 && total !== existing.total) {
      throw failedPrecondition(`ref "${ref}": total ${total} differs from the ingest's ${existing.total}`);
    }
    if (expected && existing.expected && expected !== existing.expected) {
      throw failedPrecondition(`ref "${ref}": expected ${expected} differs from the ingest's ${existing.expected}`);
    }
    if ((total > 0 && existing.total === 0) || (expected && !existing.expected)) {
      const meta: IngestMeta = { ...existing, total: existing.total || total, ...(expected ? { expected } : {}) };
      await writeIngestMeta(dir, meta);
      return meta;
    }
    return existing;
  }

  async #exists(digest: Digest): Promise<boolean> {
    try {
      await stat(this.#layout.blobPath(digest));
      return true;
    } catch (err) {
      if (isEnoent(err)) return false;
      throw err;
    }
  }

  /** Makes `dataPath` the blob `digest`: labels first, then an atomic link, then a directory fsync. */
  async #publish(dataPath: string, digest: Digest, labels: Record<string, string> | undefined): Promise<void> {
    if (await this.#exists(digest)) throw contentExists(digest);
    const dir = this.#layout.blobsDir(digestAlgorithm(digest));
    await mkdir(dir, { recursive: true });
    // Written before the link so the labels are there when the blob appears; an empty set removes
    // a stale sidecar left by a crash during an earlier delete of the same digest.
    await this.#labels.write(digest, labels ?? {});
    const target = this.#layout.blobPath(digest);
    try {
      await link(dataPath, target);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') throw contentExists(digest);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      await rename(dataPath, target); // no hard links on this file system
    }
    await syncDir(dir);
  }
}

/** Creates a LocalContentStore rooted at `options.root`. */
export function createLocalStore(options: LocalStoreOptions): LocalContentStore {
  return new LocalContentStore(options);
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isEnoent(err)) return [];
    throw err;
  }
}
