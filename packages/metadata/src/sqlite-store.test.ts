import { once } from 'node:events';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ErrorKind, isAlreadyExists } from '@berth/errdefs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { schemaVersion } from './schema';
import { openMetadataStore } from './sqlite-store';
import { container, digestOf, expectKind, image, openStore, tempDir } from './test/helpers';

const tables = ['containers', 'content', 'images', 'lease_resources', 'leases', 'namespaces', 'snapshots'];

function inspect(path: string): { version: number; journal: string; tables: string[] } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      journal: db.pragma('journal_mode', { simple: true }) as string,
      tables: (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map(
        (t) => t.name,
      ),
    };
  } finally {
    db.close();
  }
}

describe('opening', () => {
  it('creates the schema in a new file, in WAL mode, at the current version', () => {
    const path = join(tempDir(), 'metadata.db');
    openStore(path).close();
    expect(inspect(path)).toEqual({ version: schemaVersion, journal: 'wal', tables });
  });

  it('migrates an existing empty file', () => {
    const path = join(tempDir(), 'metadata.db');
    writeFileSync(path, '');
    openStore(path).close();
    expect(inspect(path).version).toBe(schemaVersion);
  });

  it('reopens an existing file with its data and without migrating again', () => {
    const path = join(tempDir(), 'metadata.db');
    const first = openStore(path);
    first.images.create('default', image('busybox'));
    first.close();
    const second = openStore(path);
    expect(second.images.get('default', 'busybox').name).toBe('busybox');
    expect(inspect(path).version).toBe(schemaVersion);
  });

  it('refuses a database whose schema is newer than the code (FailedPrecondition), leaving it untouched', () => {
    const path = join(tempDir(), 'metadata.db');
    const db = new Database(path);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    const err = expectKind(() => openMetadataStore({ path }), ErrorKind.FailedPrecondition);
    expect(err.message).toContain(`schema version ${schemaVersion + 1} is newer than the supported ${schemaVersion}`);
    expect(inspect(path)).toMatchObject({ version: schemaVersion + 1, tables: [] });
  });

  it('cannot open a file in a missing directory (Unavailable) or without a path (InvalidArgument)', () => {
    expectKind(() => openMetadataStore({ path: join(tempDir(), 'missing', 'metadata.db') }), ErrorKind.Unavailable);
    expectKind(() => openMetadataStore({ path: '' }), ErrorKind.InvalidArgument);
  });

  it('after close every call is FailedPrecondition; close is idempotent', () => {
    const store = openStore();
    store.close();
    store.close();
    expectKind(() => store.images.list('default'), ErrorKind.FailedPrecondition);
    expectKind(() => store.transaction(() => 1), ErrorKind.FailedPrecondition);
  });
});

describe('two instances on one file (WAL)', () => {
  it('each sees the other’s commits', () => {
    const path = join(tempDir(), 'metadata.db');
    const a = openStore(path);
    const b = openStore(path);
    a.images.create('default', image('from-a'));
    expect(b.images.get('default', 'from-a').name).toBe('from-a');
    b.containers.create('default', container('from-b'));
    expect(a.containers.get('default', 'from-b').id).toBe('from-b');
    b.images.delete('default', 'from-a');
    expect(a.images.list('default')).toEqual([]);
  });

  it('a reader never sees a transaction in progress, only its commit', () => {
    const path = join(tempDir(), 'metadata.db');
    const a = openStore(path);
    const b = openStore(path);
    a.transaction((tx) => {
      tx.images.create('default', image('x'));
      tx.leases.create('default', { id: 'l' });
      expect(b.images.list('default')).toEqual([]);
      expect(b.leases.list('default')).toEqual([]);
    });
    expect(b.images.list('default')).toHaveLength(1);
    expect(b.leases.list('default')).toHaveLength(1);
  });

  it('a writer that cannot get the lock within busyTimeout fails with Unavailable and writes nothing', () => {
    const path = join(tempDir(), 'metadata.db');
    const a = openStore(path);
    const b = openStore(path, { busyTimeout: 50 });
    a.transaction((tx) => {
      tx.images.create('default', image('a'));
      expectKind(() => b.images.create('default', image('b')), ErrorKind.Unavailable);
    });
    expect(b.images.list('default').map((i) => i.name)).toEqual(['a']);
  });

  it('a writer waits for another connection’s write to finish (busy_timeout), then commits', async () => {
    const path = join(tempDir(), 'metadata.db');
    const store = openStore(path);
    // Another connection, on another thread, holds the write lock for 300 ms.
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.module);
       const db = new Database(workerData.path);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("INSERT INTO namespaces (name) VALUES ('from-worker')").run();
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { path, module: createRequire(import.meta.url).resolve('better-sqlite3') } },
    );
    try {
      await once(worker, 'message');
      const started = Date.now();
      store.images.create('default', image('waited'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      expect(store.namespaces.list().map((n) => n.name)).toEqual(['default', 'from-worker']);
    } finally {
      await once(worker, 'exit');
    }
  });
});

describe('transaction', () => {
  it('commits everything fn did, and returns its result', () => {
    const store = openStore();
    const result = store.transaction((tx) => {
      tx.content.add('default', digestOf('1'));
      tx.leases.create('default', { id: 'pull' });
      tx.leases.addResource('default', 'pull', { type: 'content', id: digestOf('1') });
      return tx.images.create('default', image('x')).name;
    });
    expect(result).toBe('x');
    expect(store.leases.listResources('default', 'pull')).toEqual([{ type: 'content', id: digestOf('1') }]);
  });

  it('rolls back everything when fn throws, and rethrows the same error', () => {
    const path = join(tempDir(), 'metadata.db');
    const store = openStore(path);
    store.images.create('default', image('keep', { labels: { v: '1' } }));
    const boom = new Error('boom');
    expect(() =>
      store.transaction((tx) => {
        tx.images.update('default', { name: 'keep', labels: { v: '2' } }, ['labels.v']);
        tx.images.create('default', image('new'));
        tx.containers.create('default', container('c'));
        tx.namespaces.create('other');
        throw boom;
      }),
    ).toThrow(boom);
    const other = openStore(path);
    for (const s of [store, other]) {
      expect(s.images.list('default').map((i) => [i.name, i.labels])).toEqual([['keep', { v: '1' }]]);
      expect(s.containers.list('default')).toEqual([]);
      expect(s.namespaces.list().map((n) => n.name)).toEqual(['default']);
    }
  });

  it('a unique violation mid-way (AlreadyExists) leaves the old records', () => {
    const store = openStore();
    const before = store.images.create('default', image('a', { labels: { v: '1' } }));
    store.images.create('default', image('b'));
    const err = expectKind(
      () =>
        store.transaction((tx) => {
          tx.images.update('default', { name: 'a', labels: { v: '2' } }, ['labels']);
          tx.images.create('default', image('b'));
        }),
      ErrorKind.AlreadyExists,
    );
    expect(err.message).toBe('image "b": already exists');
    expect(store.images.get('default', 'a')).toEqual(before);
  });

  it('a failed call that fn catches is undone alone; the rest commits', () => {
    const store = openStore();
    store.images.create('default', image('exists'));
    store.transaction((tx) => {
      tx.leases.create('default', { id: 'l' });
      try {
        // It creates namespace fresh-ns, then fails validation: its savepoint is rolled back.
        tx.namespaces.update({ name: 'fresh-ns', labels: { k: 'v'.repeat(5000) } }, ['labels.k']);
      } catch (err) {
        expect(kindIsInvalid(err)).toBe(true);
      }
      try {
        tx.images.create('default', image('exists'));
      } catch (err) {
        expect(isAlreadyExists(err)).toBe(true);
      }
      tx.images.create('default', image('second'));
    });
    expect(store.leases.list('default')).toHaveLength(1);
    expect(store.images.list('default').map((i) => i.name)).toEqual(['exists', 'second']);
    expect(store.namespaces.list().map((n) => n.name)).toEqual(['default']);
  });

  it('nests: an inner transaction that throws is rolled back when caught', () => {
    const store = openStore();
    store.transaction((tx) => {
      tx.images.create('default', image('outer'));
      expect(() =>
        store.transaction((inner) => {
          inner.images.create('default', image('inner'));
          throw new Error('inner fails');
        }),
      ).toThrow('inner fails');
    });
    expect(store.images.list('default').map((i) => i.name)).toEqual(['outer']);
  });

  it('refuses an async fn (InvalidArgument) and rolls back what it did synchronously', () => {
    const store = openStore();
    expectKind(
      () =>
        store.transaction(async (tx) => {
          tx.images.create('default', image('x'));
        }),
      ErrorKind.InvalidArgument,
    );
    expect(store.images.list('default')).toEqual([]);
  });
});

describe('deletions', () => {
  it('counts committed deletions only', () => {
    const store = openStore();
    store.images.create('default', image('a'));
    store.images.create('default', image('b'));
    store.leases.create('default', { id: 'l' });
    expect(store.deletions).toBe(0);
    store.images.delete('default', 'a');
    expect(store.deletions).toBe(1);
    expect(() =>
      store.transaction((tx) => {
        tx.images.delete('default', 'b');
        tx.leases.delete('default', 'l');
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(store.deletions).toBe(1);
    store.transaction((tx) => {
      tx.images.delete('default', 'b');
      tx.leases.delete('default', 'l');
    });
    expect(store.deletions).toBe(3);
    expectKind(() => store.images.delete('default', 'b'), ErrorKind.NotFound);
    expect(store.deletions).toBe(3);
  });
});

function kindIsInvalid(err: unknown): boolean {
  return (err as { kind?: string }).kind === ErrorKind.InvalidArgument;
}
