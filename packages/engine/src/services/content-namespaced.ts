import { BufferReaderAt, infoAdaptor, statusAdaptor } from '@berth/content';
import type { BlobRef, CommitOptions, ContentStore, Info, ReaderAt, Status, WalkFunc, Writer, WriterOptions } from '@berth/content';
import { alreadyExists, failedPrecondition, invalidArgument, isAlreadyExists, isNotFound, notFound } from '@berth/errdefs';
import type { ContentRecord, MetadataStore, MetadataView } from '@berth/metadata';
import type { GarbageCollector } from '../gc';
import { BlobCache, SMALL_BLOB_BYTES } from './blob-cache';
import { isIdentifier, parseDigest, parseFilters, validateIdentifier, validateLabels, type Digest } from '@berth/spec';

/**
 * The content store as one containerd namespace sees it, after containerd's `metadata`
 * content store. There is one blob store for the whole daemon (`EngineContext.content`); the
 * metadata store records which namespaces own which blob, each with its own labels and
 * times. A namespace sees only the blobs it owns and only its own ingests.
 *
 * - **Ownership.** Committing a blob makes the namespace own it, with the commit's labels.
 *   `info`, `readerAt`, `walk` and `update` are NotFound for a blob the namespace does not
 *   own, even when another namespace does. `delete` removes the namespace's ownership; the
 *   blob itself is deleted at once when no namespace owns it any more, and the garbage
 *   collector is told (what the blob's `gc.ref` labels held may be garbage now). The
 *   collector removes the ownership of blobs nothing references (see `gc/collector.ts`).
 * - **Shared content** (containerd's default `content_sharing_policy = "shared"`): a writer
 *   whose expected digest and total size match a blob another namespace already committed
 *   takes ownership without writing the data again, and reports AlreadyExists (success).
 * - **Ingests** are per namespace: the namespace's ref `r` is the blob store's ref
 *   `<ns>/<r>` (see `ingestRefOf`); statuses report `r`.
 * - **Leases.** With a lease (the `containerd-lease` header), an open writer adds its ingest
 *   (`ingests`, id = ref) to the lease, and a commit swaps it for the blob (`content`, id =
 *   digest), as do the AlreadyExists outcomes; `abort` and `delete` remove them. An unknown
 *   lease is NotFound.
 *
 * Errors are the blob store's and the metadata store's kinds. Ingest messages name the
 * namespace's ref where it is cheap to do so.
 */
export class NamespacedContentStore implements ContentStore {
  readonly namespace: string;
  readonly lease: string | undefined;
  readonly #shared: ContentNamespaces;

  constructor(shared: ContentNamespaces, namespace: string, lease?: string) {
    if (!namespace) throw failedPrecondition('namespace is required');
    validateIdentifier(namespace);
    this.#shared = shared;
    this.namespace = namespace;
    this.lease = lease || undefined;
  }

  get #base(): ContentStore {
    return this.#shared.base;
  }

  get #metadata(): MetadataStore {
    return this.#shared.metadata;
  }

  async info(digest: Digest | string): Promise<Info> {
    const d = parseDigest(digest);
    return this.#infoOf(this.#metadata.content.get(this.namespace, d));
  }

  async update(info: Pick<Info, 'digest'> & Partial<Pick<Info, 'labels'>>, fieldpaths?: string[]): Promise<Info> {
    const d = parseDigest(info?.digest);
    const record = this.#metadata.content.updateLabels(this.namespace, d, info.labels ?? {}, fieldpaths ?? []);
    return this.#infoOf(record);
  }

  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    const filter = parseFilters(...filters);
    for (const record of this.#metadata.content.list(this.namespace)) {
      let info: Info;
      try {
        info = await this.#infoOf(record);
      } catch (err) {
        if (isNotFound(err)) continue; // deleted meanwhile
        throw err;
      }
      if (filter.match(infoAdaptor(info))) await fn(info);
    }
  }

  async delete(digest: Digest | string): Promise<void> {
    const d = parseDigest(digest);
    await this.#shared.exclusive(d, async () => {
      const referenced = this.#metadata.transaction((tx) => {
        tx.content.remove(this.namespace, d);
        this.#dropFromLease(tx, { type: 'content', id: d });
        return tx.content.isReferenced(d);
      });
      // The last owner's delete removes the blob at once, without waiting for a collection.
      if (!referenced) await this.#base.delete(d).catch(ignoreNotFound);
    });
    this.#shared.gc?.markDirty();
  }

  async readerAt(desc: BlobRef): Promise<ReaderAt> {
    const d = parseDigest(desc?.digest);
    this.#metadata.content.get(this.namespace, d);
    const cache = this.#shared.cache;
    const cached = cache.bytes(d);
    if (cached) return new BufferReaderAt(cached, d);
    const reader = await this.#base.readerAt({ digest: d });
    cache.setSize(d, reader.size);
    if (reader.size > SMALL_BLOB_BYTES) return reader;
    // A small blob (a manifest, an index, a config: clients read them again and again) is read
    // whole once and served from memory afterwards.
    try {
      const bytes = await reader.read(0);
      cache.setBytes(d, bytes);
      return new BufferReaderAt(bytes, d);
    } finally {
      await reader.close();
    }
  }

  async status(ref: string): Promise<Status> {
    const r = checkRef(ref);
    try {
      return this.#shared.withLiveOffset({ ...(await this.#base.status(ingestRefOf(this.namespace, r))), ref: r }, this.namespace);
    } catch (err) {
      if (isNotFound(err)) throw notFound(`ingest ref "${r}": not found`, { cause: err });
      throw err;
    }
  }

  async listStatuses(...filters: string[]): Promise<Status[]> {
    const filter = parseFilters(...filters);
    const statuses: Status[] = [];
    for (const status of await this.#base.listStatuses()) {
      const parsed = parseIngestRef(status.ref);
      if (parsed?.namespace !== this.namespace) continue;
      const own = this.#shared.withLiveOffset({ ...status, ref: parsed.ref }, this.namespace);
      if (filter.match(statusAdaptor(own))) statuses.push(own);
    }
    return statuses.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  async abort(ref: string): Promise<void> {
    const r = checkRef(ref);
    try {
      await this.#base.abort(ingestRefOf(this.namespace, r));
    } catch (err) {
      if (isNotFound(err)) throw notFound(`ingest ref "${r}": not found`, { cause: err });
      throw err;
    }
    this.#metadata.transaction((tx) => this.#dropFromLease(tx, { type: 'ingests', id: r }));
  }

  /**
   * Opens a writer on the namespace's ingest `ref`, with containerd's metadata semantics:
   * AlreadyExists when the namespace already owns `expected` (and the blob joins the lease),
   * or when another namespace does and `total` matches its size (the namespace then owns it
   * too: shared content). Otherwise the blob store's writer, resumed or new.
   */
  writer(options: WriterOptions): Promise<Writer> {
    return this.openWriter(options);
  }

  /**
   * `writer`, plus `recordExpected` (default true): whether `expected` is recorded in the
   * ingest, so that a resumed writer must announce the same digest. containerd's local store
   * records only the total and checks the digest at commit; its Write service relies on that
   * (an ingest whose commit failed on a wrong digest can be resumed with the right one), so
   * the gRPC Write passes false and gives the digest to `commit`.
   */
  async openWriter(options: WriterOptions & { recordExpected?: boolean }): Promise<Writer> {
    const ref = checkRef(options?.ref);
    const total = options.total ?? 0;
    const expected = options.expected ? parseDigest(options.expected) : undefined;
    let inBase = false;
    if (expected) {
      inBase = await this.#shared.exclusive(expected, async () => {
        if (this.#owns(expected)) {
          this.#metadata.transaction((tx) => this.#addToLease(tx, { type: 'content', id: expected }));
          throw contentExists(expected);
        }
        const info = await this.#base.info(expected).catch(ignoreNotFound);
        if (info && total > 0 && info.size === total) {
          this.#metadata.transaction((tx) => {
            tx.content.add(this.namespace, expected);
            this.#addToLease(tx, { type: 'content', id: expected });
          });
          throw contentExists(expected);
        }
        return info !== undefined;
      });
    }
    this.#metadata.transaction((tx) => this.#addToLease(tx, { type: 'ingests', id: ref }));
    const record = expected && options.recordExpected !== false && !inBase;
    const base = await this.#base.writer({
      ref: ingestRefOf(this.namespace, ref),
      total,
      ...(record ? { expected } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      const { offset } = await base.status();
      return new NamespacedWriter(this, ref, base, expected, this.#shared.track(ingestRefOf(this.namespace, ref), offset));
    } catch (err) {
      await base.close();
      throw err;
    }
  }

  /**
   * For this store's writers: commits `writer` (a blob store writer opened by `openWriter`)
   * and records the namespace's ownership (with `labels`) and the lease swap, serialized with
   * deletes of the same digest. A blob already in the store but not
   * owned by the namespace is a success; one the namespace already owns is AlreadyExists.
   */
  async commitWriter(ref: string, writer: Writer, digest: Digest, options: CommitOptions): Promise<Digest> {
    validateLabels(options.labels);
    const { labels, ...rest } = options;
    return this.#shared.exclusive(digest, async () => {
      let committed: Digest;
      try {
        committed = await writer.commit(rest); // labels are per namespace: in the metadata only
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        committed = digest;
      }
      const owned = this.#metadata.transaction((tx) => {
        const had = ownsIn(tx, this.namespace, committed);
        if (!had) tx.content.add(this.namespace, committed, labels);
        this.#dropFromLease(tx, { type: 'ingests', id: ref });
        this.#addToLease(tx, { type: 'content', id: committed });
        return had;
      });
      if (owned) throw contentExists(committed);
      return committed;
    });
  }

  #owns(digest: Digest): boolean {
    return ownsIn(this.#metadata, this.namespace, digest);
  }

  async #infoOf(record: ContentRecord): Promise<Info> {
    const cache = this.#shared.cache;
    let size = cache.size(record.digest);
    if (size === undefined) {
      size = (await this.#base.info(record.digest)).size;
      cache.setSize(record.digest, size);
    }
    return { digest: record.digest, size, createdAt: record.createdAt, updatedAt: record.updatedAt, labels: record.labels };
  }

  #addToLease(tx: MetadataView, resource: { type: string; id: string }): void {
    if (this.lease) tx.leases.addResource(this.namespace, this.lease, resource);
  }

  /** As containerd's `remove*Lease`: a lease that is gone is nothing to remove from. */
  #dropFromLease(tx: MetadataView, resource: { type: string; id: string }): void {
    if (!this.lease) return;
    try {
      tx.leases.deleteResource(this.namespace, this.lease, resource);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/**
 * The shared part of every namespace's view: the blob store, the metadata store, and a lock
 * per digest that serializes commits, shared-content adoption and deletes of one digest (so a
 * delete of the last owner cannot remove a blob another namespace is adopting).
 *
 * With `gc` (the engine's collector), each of those locked sections also runs inside
 * `gc.gate.shared`: a commit moves the blob into the store before it records the ownership,
 * and an adoption finds the blob before it records one, so a collection (which deletes every
 * blob no namespace owns) must not run in between. Deletes tell the collector.
 */
export class ContentNamespaces {
  /** Sizes and small blobs by digest, shared by every namespace (see BlobCache). */
  readonly cache = new BlobCache();
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #live = new Map<string, LiveIngest>();

  constructor(
    readonly base: ContentStore,
    readonly metadata: MetadataStore,
    readonly gc?: Pick<GarbageCollector, 'gate' | 'markDirty'>,
  ) {}

  /** The store as `namespace` sees it, recording into `lease` when given. */
  store(namespace: string, lease?: string): NamespacedContentStore {
    return new NamespacedContentStore(this, namespace, lease);
  }

  /**
   * Registers an open writer's progress under its blob store ref. The blob store's status
   * counts the bytes on disk, which trail an open writer's by up to one write batch; statuses
   * report what the writer has accepted, as containerd's (unbuffered) writers do, so progress
   * shows while a write is under way. `done()` unregisters it.
   */
  track(storeRef: string, offset: number): LiveIngest {
    const live: LiveIngest = {
      offset,
      updatedAt: new Date(),
      done: () => {
        if (this.#live.get(storeRef) === live) this.#live.delete(storeRef);
      },
    };
    this.#live.set(storeRef, live);
    return live;
  }

  /** `status` with the offset of its open writer in this process, if there is one and it is ahead. */
  withLiveOffset(status: Status, namespace: string): Status {
    const live = this.#live.get(ingestRefOf(namespace, status.ref));
    if (!live || live.offset <= status.offset) return status;
    return { ...status, offset: live.offset, updatedAt: live.updatedAt };
  }

  /**
   * Runs `fn` with `digest` locked against other `exclusive` calls of this instance, and
   * inside the collector's gate (shared) when there is one. `fn` must not call `exclusive`.
   */
  exclusive<T>(digest: string, fn: () => Promise<T>): Promise<T> {
    return this.gc ? this.gc.gate.shared(() => this.#locked(digest, fn)) : this.#locked(digest, fn);
  }

  async #locked<T>(digest: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(digest) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.#tails.set(digest, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(digest) === tail) this.#tails.delete(digest);
    }
  }
}

/** The progress of an open writer (see `ContentNamespaces.track`). */
interface LiveIngest {
  offset: number;
  updatedAt: Date;
  done(): void;
}

/** A blob store writer seen through a namespace: statuses name the namespace's ref, commit records ownership. */
class NamespacedWriter implements Writer {
  constructor(
    private readonly store: NamespacedContentStore,
    readonly ref: string,
    private readonly base: Writer,
    private readonly expected: Digest | undefined,
    private readonly live: LiveIngest,
  ) {}

  write(chunk: Uint8Array): Promise<void> {
    const written = this.base.write(chunk);
    this.live.offset += chunk.byteLength;
    this.live.updatedAt = new Date();
    return written;
  }

  digest(): Digest {
    return this.base.digest();
  }

  async status(): Promise<Status> {
    return { ...(await this.base.status()), ref: this.ref };
  }

  async truncate(size: number): Promise<void> {
    await this.base.truncate(size);
    this.live.offset = size;
    this.live.updatedAt = new Date();
  }

  async commit(options: CommitOptions = {}): Promise<Digest> {
    this.live.done();
    // The digest the blob will have, known before the commit so it can be locked: nothing
    // is written by a commit.
    const digest = options.expected ? parseDigest(options.expected) : (this.expected ?? this.base.digest());
    return this.store.commitWriter(this.ref, this.base, digest, options);
  }

  async close(): Promise<void> {
    try {
      await this.base.close();
    } finally {
      this.live.done();
    }
  }
}

/**
 * The blob store's ref of namespace `ns`'s ingest `ref`: `<ns>/<ref>`. A namespace never
 * contains `/`, so the split is unambiguous. Ingests written to the blob store directly
 * (not through a namespace) must not use refs of this shape.
 */
export function ingestRefOf(ns: string, ref: string): string {
  return `${ns}/${ref}`;
}

/** The namespace and ref of a blob store ingest ref made by `ingestRefOf`; undefined for any other. */
export function parseIngestRef(storeRef: string): { namespace: string; ref: string } | undefined {
  const slash = storeRef.indexOf('/');
  if (slash <= 0 || slash === storeRef.length - 1) return undefined;
  const namespace = storeRef.slice(0, slash);
  return isIdentifier(namespace) ? { namespace, ref: storeRef.slice(slash + 1) } : undefined;
}

function ownsIn(view: MetadataView, ns: string, digest: Digest): boolean {
  try {
    view.content.get(ns, digest);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function checkRef(ref: unknown): string {
  if (typeof ref !== 'string' || ref === '') throw invalidArgument('ref must not be empty');
  return ref;
}

function contentExists(digest: Digest): Error {
  return alreadyExists(`content ${digest}: already exists`);
}

function ignoreNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}
