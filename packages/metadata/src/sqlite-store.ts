import { invalidArgument, unavailable } from '@berth/errdefs';
import Database from 'better-sqlite3';
import { SqliteContainerStore } from './containers';
import { StoreContext } from './context';
import { SqliteGcSource } from './gc';
import { SqliteImageStore } from './images';
import { SqliteLeaseManager } from './leases';
import { SqliteNamespaceStore } from './namespaces';
import { SqliteContentOwnership, SqliteSnapshotOwnership } from './ownership';
import { migrate } from './schema';
import type {
  ContainerStore,
  ContentOwnership,
  GcNode,
  ImageStore,
  LeaseManager,
  MetadataStore,
  MetadataView,
  NamespaceGcRoots,
  NamespaceStore,
  OpenOptions,
  SnapshotOwnership,
} from './types';

/**
 * Opens (creating if needed) the metadata database at `opts.path` and brings its schema up to
 * date. The connection runs with:
 * - `journal_mode = WAL`: readers never block the writer nor the writer readers, and several
 *   store instances (processes) may open the same file, each seeing the others' commits;
 * - `synchronous = FULL`: a mutation is on disk when it returns (containerd's bolt syncs every
 *   commit too);
 * - `foreign_keys = ON`, and `busy_timeout` (default 5 s) before a write waits out another
 *   connection's lock and fails with Unavailable.
 *
 * Throws FailedPrecondition when the file's schema is newer than this code, Unavailable when
 * the file cannot be opened.
 */
export function openMetadataStore(opts: OpenOptions): MetadataStore {
  const { path, busyTimeout = 5000 } = opts;
  if (typeof path !== 'string' || path === '') throw invalidArgument('metadata store path must not be empty');
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: busyTimeout });
  } catch (err) {
    throw unavailable(`metadata ${path}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
  } catch (err) {
    db.close();
    if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) {
      throw unavailable(`metadata ${path}: database is busy`, { cause: err });
    }
    if (err instanceof Database.SqliteError) {
      throw unavailable(`metadata ${path}: cannot open: ${err.message}`, { cause: err });
    }
    throw err;
  }
  return new SqliteMetadataStore(new StoreContext(db, path));
}

/** The one `MetadataStore` implementation: the role stores share one connection. */
class SqliteMetadataStore implements MetadataStore {
  readonly namespaces: NamespaceStore;
  readonly images: ImageStore;
  readonly containers: ContainerStore;
  readonly leases: LeaseManager;
  readonly content: ContentOwnership;
  readonly snapshots: SnapshotOwnership;
  private readonly gc: SqliteGcSource;
  /** What `transaction` hands to its callback: the same stores, without `transaction`/`close`. */
  private readonly view: MetadataView;

  constructor(private readonly ctx: StoreContext) {
    this.namespaces = new SqliteNamespaceStore(ctx);
    this.images = new SqliteImageStore(ctx);
    this.containers = new SqliteContainerStore(ctx);
    this.leases = new SqliteLeaseManager(ctx);
    this.content = new SqliteContentOwnership(ctx);
    this.snapshots = new SqliteSnapshotOwnership(ctx);
    this.gc = new SqliteGcSource(ctx);
    const { namespaces, images, containers, leases, content, snapshots, gc } = this;
    this.view = Object.freeze({
      namespaces,
      images,
      containers,
      leases,
      content,
      snapshots,
      gcRoots: (opts?: { now?: Date }) => gc.gcRoots(opts),
      references: (node: GcNode) => gc.references(node),
    });
  }

  get path(): string {
    return this.ctx.path;
  }

  get deletions(): number {
    return this.ctx.deletions;
  }

  transaction<T>(fn: (tx: MetadataView) => T): T {
    return this.ctx.write(() => {
      const result = fn(this.view);
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        // better-sqlite3 is synchronous: awaiting inside would commit before the awaited work.
        throw invalidArgument('metadata transaction: the function must be synchronous (it returned a promise)');
      }
      return result;
    });
  }

  gcRoots(opts?: { now?: Date }): NamespaceGcRoots[] {
    return this.gc.gcRoots(opts);
  }

  references(node: GcNode): GcNode[] {
    return this.gc.references(node);
  }

  close(): void {
    this.ctx.close();
  }
}
