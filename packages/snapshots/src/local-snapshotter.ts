import { mkdtempSync, renameSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '@berth/errdefs';
import { parseFilters, validateLabels, type Adaptor } from '@berth/spec';
import { diskUsage } from './disk-usage';
import { MetadataStore, infoOf, type SnapshotRecord } from './metadata-store';
import type { CommitOptions, Info, Mount, PrepareOptions, Snapshotter, Usage, WalkFunc } from './types';

/**
 * What the overlay and native snapshotters share: metadata in `<root>/metadata.db`, one
 * directory per snapshot at `<root>/snapshots/<id>` with the tree in `fs/`, and the
 * crash-safety protocol for those directories:
 *
 * - prepare/view fill a fresh `snapshots/new-*` dir first, then rename it to `snapshots/<id>`
 *   inside the transaction that inserts the row; a failure removes the temp dir.
 * - remove renames `snapshots/<id>` to `snapshots/rm-<id>` inside the transaction that deletes
 *   the row, and deletes it after the commit, once the call has returned (`close` waits for it).
 * - opening a root deletes every entry of `snapshots/` that is not a known id (leftovers of a
 *   crash at any of those steps); the database lock makes this instance the root's only user.
 *
 * Subclasses say how a new snapshot's dir is filled (`populate`), how a snapshot mounts
 * (`mountsOf`), and what to tidy after a commit (`afterCommit`).
 */
export abstract class LocalSnapshotter implements Snapshotter {
  private closed = false;
  /** Removed snapshots' directories still being deleted (see `remove`). */
  private readonly deleting = new Set<Promise<void>>();

  protected constructor(
    /** The snapshotter's root directory. */
    readonly root: string,
    protected readonly store: MetadataStore,
  ) {}

  /** Creates the root's dirs, opens its metadata (Unavailable when another instance holds it), removes crash leftovers. */
  protected static async openRoot(root: string): Promise<MetadataStore> {
    await mkdir(join(root, 'snapshots'), { recursive: true, mode: 0o700 });
    const store = new MetadataStore(join(root, 'metadata.db'));
    try {
      const ids = store.ids();
      for (const name of await readdir(join(root, 'snapshots'))) {
        if (!/^[0-9]+$/.test(name) || !ids.has(Number(name))) {
          await rm(join(root, 'snapshots', name), { recursive: true, force: true });
        }
      }
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  /** Fills `dir`, a fresh directory that becomes the new snapshot's, given its parents (nearest first). */
  protected abstract populate(dir: string, kind: 'active' | 'view', parents: number[], signal?: AbortSignal): Promise<void>;

  /** The mounts of an active snapshot or view, given its parents (nearest first). */
  protected abstract mountsOf(r: SnapshotRecord, parents: number[]): Mount[];

  /** Runs after `id` was committed; tidies what a committed snapshot no longer needs. */
  protected async afterCommit(_id: number): Promise<void> {}

  /** `<root>/snapshots/<id>`. */
  protected snapshotDir(id: number): string {
    return join(this.root, 'snapshots', String(id));
  }

  /** `<root>/snapshots/<id>/fs`: the snapshot's tree (the upper dir, for overlay). */
  protected fsDir(id: number): string {
    return join(this.snapshotDir(id), 'fs');
  }

  async stat(key: string): Promise<Info> {
    this.assertOpen();
    return infoOf(this.store.require(key));
  }

  async update(info: Pick<Info, 'name'> & Partial<Pick<Info, 'labels'>>, ...fieldpaths: string[]): Promise<Info> {
    this.assertOpen();
    const given = info.labels ?? {};
    validateLabels(given);
    const keys: string[] = [];
    let all = fieldpaths.length === 0;
    for (const path of fieldpaths) {
      if (path === 'labels') all = true;
      else if (path.startsWith('labels.') && path.length > 'labels.'.length) keys.push(path.slice('labels.'.length));
      else throw invalidArgument(`snapshot "${info.name}": cannot update field "${path}"`);
    }
    const r = this.store.updateLabels(info.name, (labels) => {
      if (all) labels = { ...given };
      for (const k of keys) {
        if (given[k] === undefined || given[k] === '') delete labels[k];
        else labels[k] = given[k];
      }
      return labels;
    });
    return infoOf(r);
  }

  async usage(key: string): Promise<Usage> {
    this.assertOpen();
    const r = this.store.require(key);
    return r.usage ?? (await diskUsage(this.fsDir(r.id)));
  }

  async mounts(key: string): Promise<Mount[]> {
    this.assertOpen();
    const r = this.store.require(key);
    if (r.kind === 'committed') throw invalidArgument(`snapshot "${key}": committed snapshots cannot be mounted; use a view`);
    return this.mountsOf(r, this.store.ancestors(r.id));
  }

  prepare(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]> {
    return this.create('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts?: PrepareOptions): Promise<Mount[]> {
    return this.create('view', key, parent, opts);
  }

  private async create(kind: 'active' | 'view', key: string, parent = '', opts: PrepareOptions = {}): Promise<Mount[]> {
    this.assertOpen();
    if (key === '') throw invalidArgument('snapshot key must not be empty');
    const labels = { ...opts.labels };
    validateLabels(labels);
    const parentName = parent === '' ? undefined : parent;
    // Check before the (possibly slow) populate; the transaction checks again.
    const p = this.store.checkCreate(key, parentName);
    const parents = p ? [p.id, ...this.store.ancestors(p.id)] : [];
    const tmp = mkdtempSync(join(this.root, 'snapshots', 'new-'));
    let r: SnapshotRecord;
    try {
      opts.signal?.throwIfAborted();
      await this.populate(tmp, kind, parents, opts.signal);
      opts.signal?.throwIfAborted();
      this.assertOpen();
      const spec = { key, kind, labels, ...(parentName === undefined ? {} : { parent: parentName }) };
      r = this.store.create(spec, (id) => renameSync(tmp, this.snapshotDir(id)));
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return this.mountsOf(r, parents);
  }

  async commit(name: string, key: string, opts: CommitOptions = {}): Promise<void> {
    this.assertOpen();
    if (name === '') throw invalidArgument(`snapshot "${key}": commit name must not be empty`);
    const labels = { ...opts.labels };
    validateLabels(labels);
    const r = this.store.checkCommit(name, key);
    const usage = await diskUsage(this.fsDir(r.id), opts.signal);
    opts.signal?.throwIfAborted();
    this.assertOpen();
    this.store.commit(name, key, usage, labels);
    await this.afterCommit(r.id);
  }

  async remove(key: string): Promise<void> {
    this.assertOpen();
    let trash: string | undefined;
    this.store.remove(key, (id) => {
      const to = join(this.root, 'snapshots', `rm-${id}`);
      try {
        renameSync(this.snapshotDir(id), to);
        trash = to;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    });
    // The snapshot is gone once its record is: its renamed directory is deleted after the call
    // returns (as containerd's overlay snapshotter can with async_remove), which saves a removal
    // a few ms. `close` waits for those deletions; a crash leaves only an `rm-*` dir, which the
    // next open deletes.
    if (trash) {
      const deleting: Promise<void> = rm(trash, { recursive: true, force: true })
        .catch(() => {})
        .finally(() => this.deleting.delete(deleting));
      this.deleting.add(deleting);
    }
  }

  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    this.assertOpen();
    const filter = parseFilters(...filters);
    for (const r of this.store.list()) {
      const info = infoOf(r);
      if (filter.match(adaptInfo(info))) await fn(info);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.deleting);
    this.store.close();
  }

  private assertOpen(): void {
    if (this.closed) throw failedPrecondition(`snapshotter ${this.root}: closed`);
  }
}

/**
 * Filter fields of a snapshot, as containerd names them: `kind`, `name`, `parent` (always
 * present, empty for a root), `labels.<k>`.
 */
function adaptInfo(info: Info): Adaptor {
  return {
    field(path) {
      switch (path[0]) {
        case 'kind':
          return path.length === 1 ? info.kind : undefined;
        case 'name':
          return path.length === 1 ? info.name : undefined;
        case 'parent':
          return path.length === 1 ? (info.parent ?? '') : undefined;
        case 'labels':
          return path.length > 1 ? info.labels[path.slice(1).join('.')] : undefined;
        default:
          return undefined;
      }
    },
  };
}
