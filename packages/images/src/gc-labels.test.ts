import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore, writeBlob, type ContentStore } from '@berth/content';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setBlobLabels } from './gc-labels';

let root: string;
let store: ContentStore;
let updates: number;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-images-labels-'));
  const inner = createLocalStore({ root });
  updates = 0;
  // Counts the durable label writes (each is a new record with fsyncs).
  store = new Proxy(inner, {
    get(target, key) {
      if (key === 'update') {
        return (...args: Parameters<ContentStore['update']>) => {
          updates++;
          return target.update(...args);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('setBlobLabels', () => {
  it('writes only labels whose value differs, and leaves the others alone', async () => {
    const digest = await writeBlob(store, 'blob', Buffer.from('x'), {});
    await setBlobLabels(store, digest, { a: '1', b: '2' });
    expect(updates).toBe(1);
    await setBlobLabels(store, digest, { a: '1', b: '2' });
    expect(updates).toBe(1);
    await setBlobLabels(store, digest, { a: '1', c: '3' });
    expect(updates).toBe(2);
    expect((await store.info(digest)).labels).toEqual({ a: '1', b: '2', c: '3' });
    await setBlobLabels(store, digest, { gone: '' });
    expect(updates).toBe(2);
  });
});
