import { alreadyExists, failedPrecondition, invalidArgument, notFound, unavailable } from '@berth/errdefs';
import Database from 'better-sqlite3';
import { migrate } from './metadata-schema';
import type { Info, Kind, Usage } from './types';

/** One row of the snapshots table, as the snapshotters use it. */
export interface SnapshotRecord {
  /** Numeric id: the snapshot's directory is `<root>/snapshots/<id>`. */
  id: number;
  kind: Kind;
  /** The key (active, view) or name (committed). */
  key: string;
  parentId?: number;
  /** The parent's name. */
  parent?: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
  /** Recorded at commit; absent for active snapshots and views. */
  usage?: Usage;
}

interface Row {
  id: number;
  key: string;
  kind: Kind;
  parent_id: number | null;
  parent: string | null;
  labels: string;
  created_at: number;
  updated_at: number;
  size: number | null;
  inodes: number | null;
}

const select = `SELECT s.*, p.key AS parent FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id`;

/** The public view of a record. */
export function infoOf(r: SnapshotRecord): Info {
  const info: Info = { kind: r.kind, name: r.key, labels: { ...r.labels }, createdAt: r.createdAt, updatedAt: r.updatedAt };
  if (r.parent !== undefined) info.parent = r.parent;
  return info;
}

/**
 * The metadata of one snapshotter: `<root>/metadata.db`, SQLite in WAL mode.
 *
 * - `synchronous = FULL`: every mutation is on disk when it returns, so after a power cut the
 *   table agrees with the directories we renamed in the same transaction. It costs one fsync
 *   per prepare/commit/remove, small next to the file-system work each of them does
 *   (containerd's bbolt store also syncs every commit).
 * - `locking_mode = EXCLUSIVE`: the connection holds the database lock until `close()`, so one
 *   snapshotter owns a root at a time (a second open fails with Unavailable), like containerd's
 *   file-locked bolt database. That makes the crash cleanup at open safe.
 *
 * Every mutation is one transaction. Mutations take a `place` callback that renames the
 * snapshot's directory inside the transaction: if it throws, the row change rolls back.
 * All methods are synchronous (better-sqlite3); callers keep slow work outside them.
 */
export class MetadataStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    try {
      this.db = new Database(path, { timeout: 250 });
    } catch (err) {
      throw unavailable(`snapshot metadata ${path}: cannot open`, { cause: err });
    }
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec('BEGIN EXCLUSIVE; COMMIT'); // take the lock now, not at the first write
      migrate(this.db, path);
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw unavailable(`snapshot metadata ${path}: in use by another snapshotter`, { cause: err });
      }
      throw err;
    }
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** The prepared statement for `sql`, prepared once per store. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The record for `key`, or undefined. */
  get(key: string): SnapshotRecord | undefined {
    const row = this.stmt(`${select} WHERE s.key = ?`).get(key) as Row | undefined;
    return row && recordOf(row);
  }

  /** The record for `key`; NotFound when there is none. */
  require(key: string): SnapshotRecord {
    const r = this.get(key);
    if (!r) throw notFound(`snapshot "${key}": not found`);
    return r;
  }

  /** The ids of `id`'s parents, nearest first (not including `id`). */
  ancestors(id: number): number[] {
    const rows = this.stmt(
        `WITH RECURSIVE chain (id, parent_id, depth) AS (
           SELECT id, parent_id, 0 FROM snapshots WHERE id = ?
           UNION ALL
           SELECT s.id, s.parent_id, c.depth + 1 FROM snapshots s JOIN chain c ON s.id = c.parent_id
         ) SELECT id FROM chain WHERE depth > 0 ORDER BY depth`,
      )
      .all(id) as { id: number }[];
    return rows.map((r) => r.id);
  }

  /**
   * Checks that `key` may be created on `parent`, and returns the parent's record (undefined
   * for no parent): AlreadyExists, NotFound (parent) or InvalidArgument (parent not committed).
   */
  checkCreate(key: string, parent: string | undefined): SnapshotRecord | undefined {
    if (this.get(key)) throw alreadyExists(`snapshot "${key}": already exists`);
    if (parent === undefined) return undefined;
    const p = this.get(parent);
    if (!p) throw notFound(`snapshot "${key}": parent "${parent}": not found`);
    if (p.kind !== 'committed') {
      throw invalidArgument(`snapshot "${key}": parent "${parent}" is ${p.kind}, not committed`);
    }
    return p;
  }

  /** Inserts an active snapshot or view, then calls `place(id)`; see `checkCreate` for errors. */
  create(
    spec: { key: string; kind: 'active' | 'view'; parent?: string; labels: Record<string, string> },
    place: (id: number) => void,
  ): SnapshotRecord {
    return this.db
      .transaction(() => {
        const p = this.checkCreate(spec.key, spec.parent);
        const now = Date.now();
        const insert = this.stmt('INSERT INTO snapshots (key, kind, parent_id, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
        const { lastInsertRowid } = insert.run(spec.key, spec.kind, p?.id ?? null, JSON.stringify(spec.labels), now, now);
        place(Number(lastInsertRowid));
        return this.require(spec.key);
      })
      .immediate();
  }

  /** Checks that active `key` may be committed as `name`: NotFound, FailedPrecondition, AlreadyExists. */
  checkCommit(name: string, key: string): SnapshotRecord {
    const r = this.require(key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot "${key}": is ${r.kind}, not active`);
    if (this.get(name)) throw alreadyExists(`snapshot "${name}": already exists`);
    return r;
  }

  /** Turns active `key` into committed `name` with `usage` and `labels` (same id, new times). */
  commit(name: string, key: string, usage: Usage, labels: Record<string, string>): SnapshotRecord {
    return this.db
      .transaction(() => {
        const r = this.checkCommit(name, key);
        const now = Date.now();
        this
          .stmt(
            `UPDATE snapshots SET key = ?, kind = 'committed', labels = ?, created_at = ?, updated_at = ?,
             size = ?, inodes = ? WHERE id = ?`,
          )
          .run(name, JSON.stringify(labels), now, now, usage.size, usage.inodes, r.id);
        return this.require(name);
      })
      .immediate();
  }

  /** Deletes `key`, then calls `place(id)`: NotFound, or FailedPrecondition when it has children. */
  remove(key: string, place: (id: number) => void): SnapshotRecord {
    return this.db
      .transaction(() => {
        const r = this.require(key);
        const child = this.stmt('SELECT key FROM snapshots WHERE parent_id = ? LIMIT 1').get(r.id) as
          | { key: string }
          | undefined;
        if (child) throw failedPrecondition(`snapshot "${key}": has children (such as "${child.key}")`);
        this.stmt('DELETE FROM snapshots WHERE id = ?').run(r.id);
        place(r.id);
        return r;
      })
      .immediate();
  }

  /** Replaces the labels of `key` with `change(current)` and bumps `updatedAt`. */
  updateLabels(key: string, change: (labels: Record<string, string>) => Record<string, string>): SnapshotRecord {
    return this.db
      .transaction(() => {
        const r = this.require(key);
        const labels = change({ ...r.labels });
        this
          .stmt('UPDATE snapshots SET labels = ?, updated_at = ? WHERE id = ?')
          .run(JSON.stringify(labels), Math.max(Date.now(), r.updatedAt.getTime() + 1), r.id);
        return this.require(key);
      })
      .immediate();
  }

  /** Every record, by key. */
  list(): SnapshotRecord[] {
    return (this.stmt(`${select} ORDER BY s.key`).all() as Row[]).map(recordOf);
  }

  /** The ids of every snapshot. */
  ids(): Set<number> {
    return new Set((this.stmt('SELECT id FROM snapshots').all() as { id: number }[]).map((r) => r.id));
  }

  /** Closes the database and releases its lock; idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

function recordOf(row: Row): SnapshotRecord {
  const r: SnapshotRecord = {
    id: row.id,
    kind: row.kind,
    key: row.key,
    labels: JSON.parse(row.labels) as Record<string, string>,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
  if (row.parent_id !== null) r.parentId = row.parent_id;
  if (row.parent !== null) r.parent = row.parent;
  if (row.size !== null && row.inodes !== null) r.usage = { size: row.size, inodes: row.inodes };
  return r;
}
