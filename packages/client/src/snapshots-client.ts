import { snapshotsService, type AnyMethodDefinition, type MessageInit, type RequestOf, type ResponseOf, type types } from '@berth/api';
import { failedPrecondition } from '@berth/errdefs';
import type { CallOptions, Connection } from './connection';
import type {
  SnapshotCommitOptions,
  SnapshotInfo,
  SnapshotKind,
  SnapshotMount,
  SnapshotPrepareOptions,
  SnapshotUsage,
  SnapshotWalkFunc,
  Snapshotter,
} from './snapshots-types';
import { dateOf } from './wire';

const Snapshots = snapshotsService.Snapshots.methods;

/**
 * One of berthd's (or containerd's) snapshotters over gRPC (`containerd.services.snapshots.v1.
 * Snapshots`, every request naming `snapshotter`), with the shape of `@berth/snapshots`'
 * `Snapshotter`, in the connection's namespace and, when it has one, under its lease (what
 * prepare, view and commit create is held by it).
 *
 * The contracts are Snapshotter's, with the kinds berthd sends: prepare/view of an existing
 * key AlreadyExists, a missing parent NotFound, a parent that is not committed
 * InvalidArgument; commit of a view FailedPrecondition; remove of a snapshot with children
 * FailedPrecondition; stat/mounts/usage/update of a missing key NotFound; mounts of a committed
 * snapshot InvalidArgument. An unknown snapshotter name is InvalidArgument on every call.
 *
 * The mounts are the server's: paths on berthd's host, mountable there (as root) with
 * `@berth/snapshots`' `mountAll` or handed to Diff/Tasks. Keys and names are per namespace.
 *
 * Methods without rest parameters take `CallOptions` last; prepare, view and commit also take
 * a `signal` in their options. `close()` makes this client refuse further calls
 * (FailedPrecondition); the connection stays open for its owner to close.
 */
export class SnapshotsClient implements Snapshotter {
  readonly snapshotter: string;
  readonly #conn: Connection;
  #closed = false;

  constructor(conn: Connection, snapshotter = 'overlayfs') {
    this.#conn = conn;
    this.snapshotter = snapshotter;
  }

  async stat(key: string, opts?: CallOptions): Promise<SnapshotInfo> {
    const res = await this.#unary(Snapshots.stat, { snapshotter: this.snapshotter, key }, opts);
    return infoOf(res.info);
  }

  /** Updates labels through `labels` (replace all) or `labels.<k>` fieldpaths; none replaces all. */
  async update(info: Pick<SnapshotInfo, 'name'> & Partial<Pick<SnapshotInfo, 'labels'>>, ...fieldpaths: string[]): Promise<SnapshotInfo> {
    const res = await this.#unary(Snapshots.update, {
      snapshotter: this.snapshotter,
      info: { name: info.name, labels: info.labels ?? {} },
      ...(fieldpaths.length > 0 ? { updateMask: { paths: fieldpaths } } : {}),
    });
    return infoOf(res.info);
  }

  async usage(key: string, opts?: CallOptions): Promise<SnapshotUsage> {
    const res = await this.#unary(Snapshots.usage, { snapshotter: this.snapshotter, key }, opts);
    return { size: res.size, inodes: res.inodes };
  }

  async mounts(key: string, opts?: CallOptions): Promise<SnapshotMount[]> {
    const res = await this.#unary(Snapshots.mounts, { snapshotter: this.snapshotter, key }, opts);
    return res.mounts.map(mountOf);
  }

  async prepare(key: string, parent?: string, opts: SnapshotPrepareOptions = {}): Promise<SnapshotMount[]> {
    const res = await this.#unary(
      Snapshots.prepare,
      { snapshotter: this.snapshotter, key, parent: parent ?? '', labels: opts.labels ?? {} },
      opts.signal ? { signal: opts.signal } : {},
    );
    return res.mounts.map(mountOf);
  }

  async view(key: string, parent?: string, opts: SnapshotPrepareOptions = {}): Promise<SnapshotMount[]> {
    const res = await this.#unary(
      Snapshots.view,
      { snapshotter: this.snapshotter, key, parent: parent ?? '', labels: opts.labels ?? {} },
      opts.signal ? { signal: opts.signal } : {},
    );
    return res.mounts.map(mountOf);
  }

  async commit(name: string, key: string, opts: SnapshotCommitOptions = {}): Promise<void> {
    await this.#unary(
      Snapshots.commit,
      { snapshotter: this.snapshotter, name, key, labels: opts.labels ?? {} },
      opts.signal ? { signal: opts.signal } : {},
    );
  }

  async remove(key: string, opts?: CallOptions): Promise<void> {
    await this.#unary(Snapshots.remove, { snapshotter: this.snapshotter, key }, opts);
  }

  /**
   * Calls `fn` for every snapshot matching any of the containerd filters (`kind`, `name`,
   * `parent`, `labels.<k>`; none or `''` matches all), awaiting it before the next; the List
   * stream is read only as fast as `fn` returns.
   */
  async walk(fn: SnapshotWalkFunc, ...filters: string[]): Promise<void> {
    this.#checkOpen();
    for await (const res of this.#conn.serverStream(Snapshots.list, { snapshotter: this.snapshotter, filters })) {
      for (const info of res.info) await fn(infoOf(info));
    }
  }

  /** Asks the snapshotter to reclaim space (containerd's Cleanup; a no-op on berthd so far). */
  async cleanup(opts?: CallOptions): Promise<void> {
    await this.#unary(Snapshots.cleanup, { snapshotter: this.snapshotter }, opts);
  }

  /** Makes this client refuse further calls. Idempotent. The connection stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async #unary<D extends AnyMethodDefinition>(method: D, request: MessageInit<RequestOf<D>>, opts?: CallOptions): Promise<ResponseOf<D>> {
    this.#checkOpen();
    return this.#conn.unary(method, request, opts);
  }

  #checkOpen(): void {
    if (this.#closed) throw failedPrecondition(`snapshotter ${this.snapshotter}: client is closed`);
  }
}

const KINDS: Record<number, SnapshotKind> = {
  [snapshotsService.Kind.VIEW]: 'view',
  [snapshotsService.Kind.ACTIVE]: 'active',
  [snapshotsService.Kind.COMMITTED]: 'committed',
};

function infoOf(info: snapshotsService.Info | undefined): SnapshotInfo {
  return {
    kind: KINDS[info?.kind ?? 0] ?? 'active',
    name: info?.name ?? '',
    ...(info?.parent ? { parent: info.parent } : {}),
    labels: { ...info?.labels },
    createdAt: dateOf(info?.createdAt),
    updatedAt: dateOf(info?.updatedAt),
  };
}

function mountOf(m: types.Mount): SnapshotMount {
  return { type: m.type, source: m.source, ...(m.target ? { target: m.target } : {}), options: [...m.options] };
}
