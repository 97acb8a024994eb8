import { chmod, chown, lstat, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withMounts } from '../mount';
import {
  applyChanges,
  commitLayer,
  readTree,
  withSnapshotter,
  withView,
  type CaseContext,
  type SnapshotterFactory,
} from './context';

/** Cases that mount snapshots and look at the files; they need root and skip without it. */
export function fsCases(factory: SnapshotterFactory): void {
  const test = (name: string, body: (ctx: CaseContext) => Promise<void>, timeout?: number) =>
    it(name, withSnapshotter(factory, body, true), timeout);

  describe('file systems', () => {
    test('files written in an active snapshot are seen through a view of its commit and a child', async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { 'etc/hostname': 'base\n', 'bin/sh': '#!' });
      expect(await withView(ctx, 'base', readTree)).toEqual({ 'bin/': '', 'bin/sh': '#!', 'etc/': '', 'etc/hostname': 'base\n' });

      const mounts = await ctx.sn.prepare('child', 'base');
      await withMounts(mounts, async (dir) => {
        expect(await readFile(join(dir, 'etc/hostname'), 'utf8')).toBe('base\n');
        await applyChanges(dir, { 'etc/hostname': 'child\n', 'new/file': 'n' });
      }, { tmpdir: ctx.base });
      // Mounting again shows what was written.
      await withMounts(await ctx.sn.mounts('child'), async (dir) => {
        expect(await readFile(join(dir, 'new/file'), 'utf8')).toBe('n');
      }, { tmpdir: ctx.base });
      await ctx.sn.commit('top', 'child');

      expect(await withView(ctx, 'top', readTree)).toEqual({
        'bin/': '',
        'bin/sh': '#!',
        'etc/': '',
        'etc/hostname': 'child\n',
        'new/': '',
        'new/file': 'n',
      });
      // The parent is unchanged by its child.
      expect((await withView(ctx, 'base', readTree))['etc/hostname']).toBe('base\n');
      expect(await withView(ctx, undefined, readTree)).toEqual({});
    });

    test("deletions in a child hide the parent's files", async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { 'a/x': 'x', 'a/y': 'y', 'b/z': 'z', f: 'f', g: 'g' });
      await commitLayer(ctx, 'del', 'base', { 'a/x': null, b: null, f: null });
      expect(await withView(ctx, 'del', readTree)).toEqual({ 'a/': '', 'a/y': 'y', g: 'g' });
      // A deleted directory recreated in a later layer starts empty.
      await commitLayer(ctx, 'again', 'del', { 'b/new': 'n', f: 'f2' });
      expect(await withView(ctx, 'again', readTree)).toEqual({ 'a/': '', 'a/y': 'y', 'b/': '', 'b/new': 'n', f: 'f2', g: 'g' });
      expect(await withView(ctx, 'base', readTree)).toMatchObject({ 'a/x': 'x', 'b/z': 'z', f: 'f' });
    });

    test('views are read-only: writes fail with EROFS', async (ctx) => {
      await commitLayer(ctx, 'one', undefined, { f: '1' });
      await commitLayer(ctx, 'two', 'one', { g: '2' });
      for (const parent of [undefined, 'one', 'two']) {
        await withView(ctx, parent, async (dir) => {
          await expect(writeFile(join(dir, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
          if (parent) await expect(writeFile(join(dir, 'f'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
        });
      }
    });

    test('usage of a committed snapshot counts the bytes and inodes written', async (ctx) => {
      const size = 1 << 20;
      const mounts = await ctx.sn.prepare('a', undefined);
      await withMounts(mounts, async (dir) => {
        await writeFile(join(dir, 'big'), Buffer.alloc(size, 7));
        await applyChanges(dir, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`d/small-${i}`, 'x'])));
      }, { tmpdir: ctx.base });
      const active = await ctx.sn.usage('a');
      expect(active.size).toBeGreaterThanOrEqual(size);
      expect(active.inodes).toBeGreaterThanOrEqual(12); // big, d, 10 small files
      await ctx.sn.commit('c', 'a');
      const committed = await ctx.sn.usage('c');
      expect(committed.size).toBeGreaterThanOrEqual(size);
      expect(committed.inodes).toBeGreaterThanOrEqual(12);
    });

    test('owners, modes, symlinks and setuid bits carry to children', async (ctx) => {
      const mounts = await ctx.sn.prepare('a', undefined);
      await withMounts(mounts, async (dir) => {
        await writeFile(join(dir, 'suid'), '#!');
        await chown(join(dir, 'suid'), 1000, 1001);
        await chmod(join(dir, 'suid'), 0o4755);
        await symlink('/etc/passwd', join(dir, 'link'));
      }, { tmpdir: ctx.base });
      await ctx.sn.commit('base', 'a');
      await ctx.sn.prepare('child', 'base');
      await withMounts(await ctx.sn.mounts('child'), async (dir) => {
        const st = await lstat(join(dir, 'suid'));
        expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1001, 0o4755]);
        expect((await readTree(dir)).link).toBe('-> /etc/passwd');
      }, { tmpdir: ctx.base });
    });

    test('a chain of 130 layers mounts and shows every layer', async (ctx) => {
      const depth = 130;
      let parent: string | undefined;
      for (let i = 0; i < depth; i++) {
        const name = `layer-${i}`;
        await commitLayer(ctx, name, parent, { [`files/f${i}`]: String(i) });
        parent = name;
      }
      const tree = await withView(ctx, parent, readTree);
      for (let i = 0; i < depth; i++) expect(tree[`files/f${i}`]).toBe(String(i));
      expect(Object.keys(tree)).toHaveLength(depth + 1);
      // And a writable child of the whole chain.
      await ctx.sn.prepare('top', parent);
      await withMounts(await ctx.sn.mounts('top'), async (dir) => {
        await writeFile(join(dir, 'files/f0'), 'changed');
        expect(await readFile(join(dir, 'files/f129'), 'utf8')).toBe('129');
      }, { tmpdir: ctx.base });
    }, 120_000);
  });
}
