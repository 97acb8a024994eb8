import { failedPrecondition } from '@berth/errdefs';
import type Database from 'better-sqlite3';

/**
 * The schema of berthd's `metadata.db`, as an ordered list of migrations: migration `i` takes
 * the database from `PRAGMA user_version = i` to `i + 1`. Append new migrations; never edit a
 * released one.
 *
 * Label maps, annotations and container extensions are JSON text (keys sorted, `''` values
 * dropped): they are read whole and filtered in JS with containerd's filter syntax, never
 * queried field by field. `Any` values are BLOBs. Times are integer milliseconds.
 * Every per-namespace row references `namespaces` with ON DELETE RESTRICT, so a namespace
 * cannot disappear under its objects even if the emptiness check were skipped.
 */
const migrations: ReadonlyArray<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE namespaces (
        name   TEXT NOT NULL PRIMARY KEY,
        labels TEXT NOT NULL DEFAULT '{}'
      );

      CREATE TABLE images (
        namespace   TEXT    NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
        name        TEXT    NOT NULL,
        labels      TEXT    NOT NULL DEFAULT '{}',
        media_type  TEXT    NOT NULL,
        digest      TEXT    NOT NULL,
        size        INTEGER NOT NULL,
        annotations TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, name)
      );

      CREATE TABLE containers (
        namespace             TEXT    NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
        id                    TEXT    NOT NULL,
        labels                TEXT    NOT NULL DEFAULT '{}',
        image                 TEXT    NOT NULL DEFAULT '',
        runtime_name          TEXT    NOT NULL,
        runtime_options_type  TEXT,
        runtime_options_value BLOB,
        spec_type             TEXT,
        spec_value            BLOB,
        snapshotter           TEXT    NOT NULL DEFAULT '',
        snapshot_key          TEXT    NOT NULL DEFAULT '',
        extensions            TEXT    NOT NULL DEFAULT '{}',
        sandbox_id            TEXT,
        created_at            INTEGER NOT NULL,
        updated_at            INTEGER NOT NULL,
        PRIMARY KEY (namespace, id)
      );

      CREATE TABLE leases (
        namespace  TEXT    NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
        id         TEXT    NOT NULL,
        labels     TEXT    NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, id)
      );

      CREATE TABLE lease_resources (
        namespace TEXT NOT NULL,
        lease_id  TEXT NOT NULL,
        type      TEXT NOT NULL,
        id        TEXT NOT NULL,
        PRIMARY KEY (namespace, lease_id, type, id),
        FOREIGN KEY (namespace, lease_id) REFERENCES leases (namespace, id) ON DELETE CASCADE
      );

      CREATE TABLE content (
        namespace  TEXT    NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
        digest     TEXT    NOT NULL,
        labels     TEXT    NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, digest)
      );
      -- isReferenced(digest) across namespaces.
      CREATE INDEX content_by_digest ON content (digest);

      CREATE TABLE snapshots (
        namespace   TEXT    NOT NULL REFERENCES namespaces (name) ON DELETE RESTRICT,
        snapshotter TEXT    NOT NULL,
        key         TEXT    NOT NULL,
        labels      TEXT    NOT NULL DEFAULT '{}',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, snapshotter, key)
      );
      CREATE INDEX snapshots_by_key ON snapshots (snapshotter, key);
    `),
];

/** The schema version this code writes. */
export const schemaVersion = migrations.length;

/**
 * Brings `db` to `schemaVersion`, each migration in its own immediate transaction (so two
 * processes opening a fresh file cannot both run one). A database written by a newer berth
 * (a higher `user_version`) is refused with FailedPrecondition rather than misread.
 */
export function migrate(db: Database.Database, path: string): void {
  for (;;) {
    const done = db
      .transaction(() => {
        const current = db.pragma('user_version', { simple: true }) as number;
        if (current > schemaVersion) {
          throw failedPrecondition(
            `metadata ${path}: schema version ${current} is newer than the supported ${schemaVersion}; ` +
              'open it with the berth that wrote it, or a newer one',
          );
        }
        if (current === schemaVersion) return true;
        migrations[current]!(db);
        db.pragma(`user_version = ${current + 1}`);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
