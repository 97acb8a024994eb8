import { isNotFound, notImplemented } from '@berth/errdefs';
import type { MetadataView } from '@berth/metadata';
import type { CommitOptions, Info, Mount, PrepareOptions, Snapshotter, Usage } from '@berth/snapshots';
import type { EngineContext } from '../context';
import { backendKey } from '../services/snapshots';

/**
 * A backend snapshotter as namespace `ns` sees it, for server-side unpack: the same ownership
 * rules as the Snapshots service (keys `<ns>/<key>` in the backend, a record per key in the
 * metadata store, written before the backend changes and taken back if that fails, all inside
 * `gc.gate.shared`), and every snapshot it creates is added to `lease` when given, so a
 * collection during the pull keeps it. Publishes no events (containerd's unpack path neither).
 *
 * `stat` of a key the namespace does not own is NotFound even if another namespace has it.
 * `update` and `walk` are NotImplemented (unpack needs neither).
 */
export class NamespacedSnapshotter implements Snapshotter {
  constructor(
    private readonly ctx: EngineContext,
    private readonly backend: Snapshotter,
    private readonly name: string,
    private readonly ns: string,
    private readonly lease: string | undefined,
  ) {}

  async stat(key: string): Promise<Info> {
    this.ctx.metadata.snapshots.get(this.ns, this.name, key);
    const info = await this.backend.stat(backendKey(this.ns, key));
    const prefix = `${this.ns}/`;
    const out: Info = { ...info, name: key };
    if (info.parent?.startsWith(prefix)) out.parent = info.parent.slice(prefix.length);
    return out;
  }

  update(): Promise<Info> {
    return Promise.reject(notImplemented('update is not available to unpack'));
  }

  async usage(key: string): Promise<Usage> {
    this.ctx.metadata.snapshots.get(this.ns, this.name, key);
    return this.backend.usage(backendKey(this.ns, key));
  }

  async mounts(key: string): Promise<Mount[]> {
    this.ctx.metadata.snapshots.get(this.ns, this.name, key);
    return this.backend.mounts(backendKey(this.ns, key));
  }

  prepare(key: string, parent?: string, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.#create(key, opts.labels ?? {}, () =>
      this.backend.prepare(backendKey(this.ns, key), parent === undefined ? undefined : backendKey(this.ns, parent), opts.signal ? { signal: opts.signal } : {}),
    );
  }

  view(key: string, parent?: string, opts: PrepareOptions = {}): Promise<Mount[]> {
    return this.#create(key, opts.labels ?? {}, () =>
      this.backend.view(backendKey(this.ns, key), parent === undefined ? undefined : backendKey(this.ns, parent), opts.signal ? { signal: opts.signal } : {}),
    );
  }

  async commit(name: string, key: string, opts: CommitOptions = {}): Promise<void> {
    this.ctx.metadata.snapshots.get(this.ns, this.name, key);
    await this.#create(name, opts.labels ?? {}, () => this.backend.commit(backendKey(this.ns, name), backendKey(this.ns, key), opts.signal ? { signal: opts.signal } : {}));
    this.ctx.metadata.transaction((tx) => this.#drop(tx, key));
  }

  async remove(key: string): Promise<void> {
    await this.ctx.gc.gate.shared(async () => {
      this.ctx.metadata.snapshots.get(this.ns, this.name, key);
      try {
        await this.backend.remove(backendKey(this.ns, key));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.ctx.metadata.transaction((tx) => this.#drop(tx, key));
    });
    this.ctx.gc.markDirty();
  }

  walk(): Promise<void> {
    return Promise.reject(notImplemented('walk is not available to unpack'));
  }

  async close(): Promise<void> {}

  /** Records `key` (and the lease's hold on it), then runs `change` on the backend; takes the record back if that fails. */
  #create<T>(key: string, labels: Record<string, string>, change: () => Promise<T>): Promise<T> {
    return this.ctx.gc.gate.shared(async () => {
      this.ctx.metadata.transaction((tx) => {
        tx.snapshots.add(this.ns, this.name, key, labels);
        if (this.lease) tx.leases.addResource(this.ns, this.lease, { type: `snapshots/${this.name}`, id: key });
      });
      try {
        return await change();
      } catch (err) {
        this.ctx.metadata.transaction((tx) => this.#drop(tx, key));
        throw err;
      }
    });
  }

  #drop(tx: MetadataView, key: string): void {
    try {
      tx.snapshots.remove(this.ns, this.name, key);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!this.lease) return;
    try {
      tx.leases.deleteResource(this.ns, this.lease, { type: `snapshots/${this.name}`, id: key });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
