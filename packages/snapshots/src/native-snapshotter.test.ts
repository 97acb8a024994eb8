import { chmod, chown, link, lstat, mkdir, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { ErrorKind } from '@berth/errdefs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withMounts } from './mount';
import { NativeSnapshotter, createNativeSnapshotter } from './native-snapshotter';
import { FileType, sys } from './sys';
import { commitLayer, expectKind, isRoot, mountsUnder, readTree, snapshotterSuite, withSnapshotter } from './testsuite';
import type { CaseContext, SnapshotterFactory } from './testsuite';

const factory: SnapshotterFactory = async (root) => {
  const snapshotter = await createNativeSnapshotter({ root });
  return { snapshotter, cleanup: () => snapshotter.close() };
};

snapshotterSuite('native', factory);

describe('native specifics', () => {
  const test = (name: string, body: (ctx: CaseContext) => Promise<void>, needsRoot = false) =>
    it(name, withSnapshotter(factory, body, needsRoot));

  test('mounts are one bind of the snapshot’s own copy: rw when active, ro for views', async (ctx) => {
    const sn = ctx.sn as NativeSnapshotter;
    const fs = (id: number) => join(ctx.root, 'snapshots', String(id), 'fs');
    expect(await sn.prepare('a', undefined)).toEqual([{ type: 'bind', source: fs(1), options: ['rw', 'rbind'] }]);
    await sn.commit('base', 'a');
    expect(await sn.view('v', 'base')).toEqual([{ type: 'bind', source: fs(2), options: ['ro', 'rbind'] }]);
    expect(await sn.prepare('b', 'base')).toEqual([{ type: 'bind', source: fs(3), options: ['rw', 'rbind'] }]);
  });

  test('metadata survives re-opening the snapshotter on the same root', async (ctx) => {
    await ctx.sn.prepare('a', undefined, { labels: { l: '1' } });
    await ctx.sn.commit('base', 'a', { labels: { c: '2' } });
    await ctx.sn.view('v', 'base');
    const infos = [await ctx.sn.stat('base'), await ctx.sn.stat('v')];
    const usage = await ctx.sn.usage('base');
    await ctx.sn.close();
    const again = await createNativeSnapshotter({ root: ctx.root });
    try {
      expect([await again.stat('base'), await again.stat('v')]).toEqual(infos);
      expect(await again.usage('base')).toEqual(usage);
      await again.remove('v');
      await again.remove('base');
    } finally {
      await again.close();
    }
  });

  test(
    'the copy keeps hard links, device nodes, FIFOs, xattrs, owners, setuid bits and mtimes',
    async (ctx) => {
      const mtime = new Date('2001-02-03T04:05:06Z');
      const a = await ctx.sn.prepare('a', undefined);
      await withMounts(a, async (dir) => {
        await mkdir(join(dir, 'bin'));
        await writeFile(join(dir, 'bin/tool'), 'tool');
        await chown(join(dir, 'bin/tool'), 0, 50);
        await chmod(join(dir, 'bin/tool'), 0o6755);
        await link(join(dir, 'bin/tool'), join(dir, 'bin/alias'));
        await symlink('tool', join(dir, 'bin/rel'));
        await mkdir(join(dir, 'dev'));
        sys.mknod(join(dir, 'dev/null'), FileType.CHR | 0o666, sys.makedev(1, 3));
        sys.mknod(join(dir, 'dev/loop9'), FileType.BLK | 0o660, sys.makedev(7, 9));
        await chmod(join(dir, 'dev/loop9'), 0o660); // mknod honours the umask
        sys.mkfifo(join(dir, 'dev/fifo'), 0o600);
        sys.lsetxattr(join(dir, 'bin/tool'), 'user.note', 'hello');
        sys.lsetxattr(join(dir, 'bin/tool'), 'trusted.overlay.opaque', 'y');
        sys.lsetxattr(join(dir, 'bin'), 'user.dir', 'd');
        await chmod(join(dir, 'dev'), 0o1777);
        await utimes(join(dir, 'bin/tool'), mtime, mtime);
      }, { tmpdir: ctx.base });
      await ctx.sn.commit('base', 'a');
      await ctx.sn.prepare('child', 'base');
      await withMounts(await ctx.sn.mounts('child'), async (dir) => {
        const tool = await lstat(join(dir, 'bin/tool'));
        const alias = await lstat(join(dir, 'bin/alias'));
        expect(alias.ino).toBe(tool.ino);
        expect(tool.nlink).toBe(2);
        expect([tool.uid, tool.gid, tool.mode & 0o7777]).toEqual([0, 50, 0o6755]);
        expect(tool.mtime.getTime()).toBe(mtime.getTime());
        expect(await readFile(join(dir, 'bin/rel'), 'utf8')).toBe('tool');
        expect((await lstat(join(dir, 'bin/rel'))).isSymbolicLink()).toBe(true);
        const nul = await lstat(join(dir, 'dev/null'));
        expect(nul.isCharacterDevice()).toBe(true);
        expect([sys.major(nul.rdev), sys.minor(nul.rdev)]).toEqual([1, 3]);
        const loop = await lstat(join(dir, 'dev/loop9'));
        expect(loop.isBlockDevice()).toBe(true);
        expect([sys.major(loop.rdev), sys.minor(loop.rdev), loop.mode & 0o777]).toEqual([7, 9, 0o660]);
        expect((await lstat(join(dir, 'dev/fifo'))).isFIFO()).toBe(true);
        expect((await stat(join(dir, 'dev'))).mode & 0o7777).toBe(0o1777);
        expect(sys.lgetxattr(join(dir, 'bin/tool'), 'user.note')?.toString()).toBe('hello');
        expect(sys.lgetxattr(join(dir, 'bin/tool'), 'trusted.overlay.opaque')?.toString()).toBe('y');
        expect(sys.lgetxattr(join(dir, 'bin'), 'user.dir')?.toString()).toBe('d');
      }, { tmpdir: ctx.base });
    },
    true,
  );

  test(
    'a child is a copy: changing it leaves the parent alone, and usage counts the whole tree',
    async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { f: Buffer.alloc(64 << 10, 1).toString() });
      await commitLayer(ctx, 'child', 'base', { g: 'g' });
      const base = await ctx.sn.usage('base');
      const child = await ctx.sn.usage('child');
      expect(child.size).toBeGreaterThanOrEqual(base.size);
      expect(child.inodes).toBe(base.inodes + 1);
      await ctx.sn.view('v', 'base');
      expect(await withMounts(await ctx.sn.mounts('v'), readTree, { tmpdir: ctx.base })).toHaveProperty('f');
      await ctx.sn.remove('v');
    },
    true,
  );
});

afterAll(async () => {
  const leaked = (await mountsUnder(tmpdir())).filter((m) => /berth-(snapshots-suite|mount)/.test(m));
  expect(leaked).toEqual([]);
});

describe('native prepare failures', () => {
  it(
    'a copy that fails leaves no directory and no record',
    withSnapshotter(factory, async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { f: 'x' });
      // Break the parent's tree behind the snapshotter's back, so the copy fails.
      await rm(join(ctx.root, 'snapshots', '1', 'fs'), { recursive: true });
      await expect(ctx.sn.prepare('child', 'base')).rejects.toThrow();
      await expectKind(ctx.sn.stat('child'), ErrorKind.NotFound);
      expect(await readdir(join(ctx.root, 'snapshots'))).toEqual(['1']);
    }, true),
  );
});
