/**
 * Entries that depend on a file written just before (hard link, whiteout, same path again,
 * symlink or directory over it, a path through it) and a failure in the middle of a layer. Guards
 * for any change that makes file writes overlap (a failing apply must leave no write running).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInvalidArgument } from '@berth/errdefs';
import { createApplier } from './apply';
import { buildTar, removeDir, snapshotTree, storeLayer, tempDir, useWorkDir, type TarSpec } from './test-support';

const fx = useWorkDir();

const file = (name: string, body: string | Buffer = 'x', extra: Partial<TarSpec['header']> = {}): TarSpec => ({ header: { name, type: 'file', ...extra }, body });
const dir = (name: string): TarSpec => ({ header: { name, type: 'directory' } });
/** Enough files to keep the writer full when the interesting entry arrives. */
const filler = (prefix: string, n = 12): TarSpec[] => Array.from({ length: n }, (_, i) => file(`${prefix}/fill${i}`, Buffer.alloc(20_000 + i, i)));

const dependent: TarSpec[] = [
  dir('d/'),
  ...filler('d'),
  file('d/a', 'one', { mode: 0o4755, uid: 1000, gid: 1000 }),
  { header: { name: 'd/h', type: 'link', linkname: 'd/a' } },
  ...filler('d', 3),
  file('d/b', 'gone'),
  file('d/.wh.b', ''),
  file('d/c', 'first'),
  file('d/c', 'second', { mode: 0o600 }),
  file('d/x', 'xattr', { pax: { 'SCHILY.xattr.user.test': 'v' } }),
  file('d/y', 'file'),
  { header: { name: 'd/y', type: 'symlink', linkname: 'a' } },
  file('d/z', 'file'),
  dir('d/z/'),
  file('d/z/inner', 'in'),
  file('e', 'root level'),
  file('e/under', 'parent is a file now?'),
];

async function applied(entries: TarSpec[]): Promise<{ root: string; error: unknown }> {
  const root = await tempDir();
  const desc = await storeLayer(fx.store, await buildTar(entries));
  const error = await createApplier({ content: fx.store }).apply(desc, [{ type: 'bind', source: root, options: ['rbind'] }]).then(() => undefined, (err: unknown) => err);
  return { root, error };
}

describe('apply: files written on the thread pool', () => {
  it('entries depending on the file just written (hard link, whiteout, same path, symlink, directory over it) give the expected tree', async () => {
    const got = await applied(dependent.slice(0, -1));
    try {
      expect(got.error).toBeUndefined();
      const tree = snapshotTree(got.root, { xattrs: true });
      expect(tree['/d/h']!.ino).toBe(tree['/d/a']!.ino);
      expect(tree['/d/a']).toMatchObject({ type: 'file', mode: 0o4755, uid: 1000, gid: 1000, size: 3, nlink: 2 });
      expect(tree['/d/b']).toBeUndefined();
      expect(tree['/d/c']).toMatchObject({ type: 'file', mode: 0o600, size: 'second'.length });
      expect(tree['/d/x']!.xattrs).toEqual({ 'user.test': 'v' });
      expect(tree['/d/y']).toMatchObject({ type: 'symlink', linkname: 'a' });
      expect(tree['/d/z']!.type).toBe('directory');
      expect(tree['/d/z/inner']).toMatchObject({ type: 'file', size: 2 });
      expect(tree['/d/fill11']).toMatchObject({ type: 'file', size: 20_011 });
    } finally {
      await removeDir(got.root);
    }
  });

  it('a parent that is the file just written is InvalidArgument', async () => {
    const got = await applied(dependent);
    try {
      expect(isInvalidArgument(got.error), String(got.error)).toBe(true);
    } finally {
      await removeDir(got.root);
    }
  });

  it.each([
    ['an escaping hard link', { header: { name: 'ln', type: 'link', linkname: '../../outside' } } as TarSpec],
    ['an escaping name', file('../escape', 'pwned')],
  ])('%s in the middle rejects with InvalidArgument and leaves no write running after', async (_name, bad) => {
    const host = await tempDir('berth-diff-host-');
    try {
      const root = join(host, 'root');
      mkdirSync(root);
      writeFileSync(join(host, 'outside'), 'outside');
      const entries = [dir('a/'), ...filler('a', 40), bad, ...filler('b', 10)];
      const desc = await storeLayer(fx.store, await buildTar(entries));
      const error = await createApplier({ content: fx.store }).apply(desc, [{ type: 'bind', source: root, options: ['rbind'] }]).catch((err: unknown) => err);
      expect(isInvalidArgument(error), String(error)).toBe(true);
      const atReject = snapshotTree(host);
      await sleep(200);
      expect(snapshotTree(host)).toEqual(atReject);
      expect(readdirSync(root)).toEqual(['a']);
      expect(readdirSync(join(root, 'a')).length).toBe(40);
      expect(readdirSync(host).sort()).toEqual(['outside', 'root']);
    } finally {
      await removeDir(host);
    }
  });
});
