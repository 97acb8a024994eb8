import { notImplemented } from '@berth/errdefs';
import type { CommitOptions, Info, Mount, PrepareOptions, Snapshotter, Usage } from '@berth/snapshots';
import type { EngineContext } from '../context';
import { backendKey, createOwned, dropOwned, removeOwned, type SnapshotOwner } from '../services/snapshot-ownership';

/**
 * A backend snapshotter as namespace `ns` sees it, for server-side unpack: the Snapshots
 * service's ownership rules (services/snapshot-ownership.ts), and every snapshot it creates is
 * added to `lease` when given, so a collection during the pull keeps it. Publishes no events
 * (containerd's unpack path neither).
 *
 * `stat` of a key the namespace does not own is NotFound even if another namespace has it.
 * `update` and `walk` are NotImplemented (unpack needs neither).
 */
export class NamespacedSnapshotter implements Snapshotter {
  private readonly owner: SnapshotOwner;

  constructor(
    private readonly ctx: EngineContext,
    private readonly backend: Snapshotter,
    private readonly name: string,
    private readonly ns: string,
    lease: string | undefined,
  ) {
    this.owner = { ns, snapshotter: name, lease };
  }

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
    this.ctx.metadata.transaction((tx) => dropOwned(tx, this.owner, key));
  }

  remove(key: string): Promise<void> {
    return removeOwned(this.ctx, this.backend, this.owner, key);
  }

  walk(): Promise<void> {
    return Promise.reject(notImplemented('walk is not available to unpack'));
  }

  async close(): Promise<void> {}

  #create<T>(key: string, labels: Record<string, string>, change: () => Promise<T>): Promise<T> {
    return createOwned(this.ctx, this.owner, key, labels, change);
  }
}
