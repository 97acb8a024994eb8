import { failedPrecondition } from '@berth/errdefs';
import type Database from 'better-sqlite3';

/**
 * The schema of a snapshotter's `metadata.db`, as an ordered list of migrations. Migration
 * `i` takes the database from `PRAGMA user_version = i` to `i + 1`. Append new migrations;
 * never edit a released one.
 */
const migrations: ReadonlyArray<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE snapshots (
        -- AUTOINCREMENT: an id is never reused, so a directory left behind by a crash can
        -- never be mistaken for a later snapshot's.
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        key        TEXT    NOT NULL UNIQUE,
        kind       TEXT    NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
        parent_id  INTEGER REFERENCES snapshots (id) ON DELETE RESTRICT,
        labels     TEXT    NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        -- Disk usage, recorded at commit (NULL while active or a view).
        size       INTEGER,
        inodes     INTEGER
      );
      CREATE INDEX snapshots_parent ON snapshots (parent_id);
    `),
];

/** The schema version this code writes. */
export const schemaVersion = migrations.length;

/**
 * Brings `db` to `schemaVersion`, each migration in its own transaction. A database written by
 * a newer berth (a higher `user_version`) is refused with FailedPrecondition rather than
 * misread.
 */
export function migrate(db: Database.Database, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > schemaVersion) {
    throw failedPrecondition(
      `snapshot metadata ${path}: schema version ${current} is newer than the supported ${schemaVersion}`,
    );
  }
  for (let v = current; v < schemaVersion; v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
