import {
  BerthError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  unavailable,
  unknown,
} from '@berth/errdefs';
import { isIdentifier, maxIdentifierLength } from '@berth/spec';
import Database from 'better-sqlite3';

/**
 * What every store shares: the connection, a cache of prepared statements, the transaction
 * helpers and the namespace checks. Internal to the package.
 */
export class StoreContext {
  private readonly statements = new Map<string, Database.Statement>();
  private pendingDeletions = 0;
  /** Committed deletions; see `MetadataStore.deletions`. */
  deletions = 0;

  constructor(
    readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** The prepared statement for `sql`, prepared once per connection. */
  stmt(sql: string): Database.Statement {
    this.checkOpen();
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn` in a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so the
   * checks `fn` makes (exists? empty?) still hold when it writes, even with another connection
   * on the same file. Inside an open transaction it is a savepoint instead.
   */
  write<T>(fn: () => T): T {
    this.checkOpen();
    const outermost = !this.db.inTransaction;
    try {
      const result = this.db.transaction(fn).immediate();
      if (outermost) this.deletions += this.pendingDeletions;
      return result;
    } catch (err) {
      throw this.translate(err);
    } finally {
      if (outermost) this.pendingDeletions = 0;
    }
  }

  /** Runs `fn` in a read transaction: one consistent snapshot across several statements. */
  read<T>(fn: () => T): T {
    this.checkOpen();
    try {
      return this.db.transaction(fn).deferred();
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** Counts a deletion, committed with the enclosing transaction. */
  deleted(): void {
    this.pendingDeletions++;
  }

  /**
   * Checks the namespace of a namespaced call: `''` is FailedPrecondition (containerd's
   * `namespace is required`), a malformed name InvalidArgument.
   */
  checkNamespace(ns: string): void {
    if (ns === '' || ns === undefined) throw failedPrecondition('namespace is required');
    if (typeof ns !== 'string' || !isIdentifier(ns)) {
      throw invalidArgument(
        `namespace "${String(ns)}": must be letters and digits separated by single ".", "_" or "-", at most ${maxIdentifierLength} characters`,
      );
    }
  }

  /** Creates namespace `ns` if it does not exist: containerd creates namespaces on first write. */
  ensureNamespace(ns: string): void {
    this.checkNamespace(ns);
    this.stmt(`INSERT INTO namespaces (name) VALUES (?) ON CONFLICT (name) DO NOTHING`).run(ns);
  }

  /** Closes the connection; idempotent. */
  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private checkOpen(): void {
    if (!this.db.open) throw failedPrecondition(`metadata ${this.path}: store is closed`);
  }

  /**
   * SQLite's errors as berth kinds; anything else (our own errors, the caller's errors thrown
   * inside `transaction`) passes through unchanged.
   */
  private translate(err: unknown): unknown {
    if (BerthError.isInstance(err) || !(err instanceof Database.SqliteError)) return err;
    const code = err.code;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return unavailable(`metadata ${this.path}: database is busy (locked by another connection)`, { cause: err });
    }
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return alreadyExists(`metadata ${this.path}: ${err.message}`, { cause: err });
    }
    if (code.startsWith('SQLITE_CONSTRAINT')) {
      return failedPrecondition(`metadata ${this.path}: ${err.message}`, { cause: err });
    }
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR')) {
      return unavailable(`metadata ${this.path}: ${err.message}`, { cause: err });
    }
    return unknown(`metadata ${this.path}: ${err.message}`, { cause: err });
  }
}

/** The `updated_at` of an update: now, or 1 ms after `previous` if the clock has not moved past it. */
export function later(previous: Date): number {
  return Math.max(Date.now(), previous.getTime() + 1);
}

/** A BLOB column (a Buffer, possibly a view of a shared pool) as a Uint8Array of its own. */
export function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b);
}
