import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind } from '@berth/errdefs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { schemaVersion } from './metadata-schema';
import { MetadataStore } from './metadata-store';
import { expectKind } from './testsuite';

describe('MetadataStore', () => {
  let base: string;
  let path: string;
  const open: MetadataStore[] = [];
  const store = () => {
    const s = new MetadataStore(path);
    open.push(s);
    return s;
  };
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-snapshots-meta-'));
    path = join(base, 'metadata.db');
  });
  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
    await rm(base, { recursive: true, force: true });
  });

  it('creates the schema in WAL mode and records its version', () => {
    store().close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(schemaVersion);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('refuses a database from a newer schema with FailedPrecondition', async () => {
    const db = new Database(path);
    db.pragma(`user_version = ${schemaVersion + 1}`);
    db.close();
    await expectKind(() => store(), ErrorKind.FailedPrecondition);
  });

  it('one owner at a time: a second open is Unavailable until the first closes', async () => {
    const first = store();
    await expectKind(() => store(), ErrorKind.Unavailable);
    first.close();
    expect(store().list()).toEqual([]);
  });

  it('never reuses an id, even across re-opening', () => {
    let s = store();
    const a = s.create({ key: 'a', kind: 'active', labels: {} }, () => {});
    s.remove('a', () => {});
    s.close();
    s = store();
    const b = s.create({ key: 'b', kind: 'active', labels: {} }, () => {});
    expect(b.id).toBeGreaterThan(a.id);
  });

  it('a place callback that throws rolls the change back', async () => {
    const s = store();
    const fail = () => {
      throw new Error('rename failed');
    };
    expect(() => s.create({ key: 'a', kind: 'active', labels: {} }, fail)).toThrow('rename failed');
    expect(s.get('a')).toBeUndefined();
    s.create({ key: 'a', kind: 'active', labels: {} }, () => {});
    expect(() => s.remove('a', fail)).toThrow('rename failed');
    expect(s.get('a')?.kind).toBe('active');
  });

  it('commit keeps the id, records usage and the parent chain is nearest first', () => {
    const s = store();
    let parent: string | undefined;
    const ids: number[] = [];
    for (const name of ['l0', 'l1', 'l2']) {
      const r = s.create({ key: `${name}-tmp`, kind: 'active', labels: {}, ...(parent ? { parent } : {}) }, () => {});
      const c = s.commit(name, `${name}-tmp`, { size: 4096, inodes: 2 }, { x: name });
      expect(c).toMatchObject({ id: r.id, kind: 'committed', usage: { size: 4096, inodes: 2 }, labels: { x: name } });
      ids.push(r.id);
      parent = name;
    }
    expect(s.ancestors(ids[2]!)).toEqual([ids[1], ids[0]]);
    expect(s.require('l2').parent).toBe('l1');
  });
});
