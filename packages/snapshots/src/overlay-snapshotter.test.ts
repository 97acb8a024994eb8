import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, describe, expect, it } from 'vitest';
import { withMounts } from './mount';
import { OverlaySnapshotter, createOverlaySnapshotter } from './overlay-snapshotter';
import { commitLayer, expectKind, isRoot, mountsUnder, readTree, snapshotterSuite, withSnapshotter } from './testsuite';
import type { SnapshotterFactory } from './testsuite';

const factory: SnapshotterFactory = async (root) => {
  const snapshotter = await createOverlaySnapshotter({ root });
  return { snapshotter, cleanup: () => snapshotter.close() };
};

describe.skipIf(!isRoot)('overlay snapshotter (needs root to mount overlayfs)', () => {
  snapshotterSuite('overlay', factory);

  describe('overlay specifics', () => {
    const test = (name: string, body: Parameters<typeof withSnapshotter>[1]) => it(name, withSnapshotter(factory, body));

    test('mount options have containerd’s shape', async (ctx) => {
      const sn = ctx.sn as OverlaySnapshotter;
      const fs = (id: number) => join(ctx.root, 'snapshots', String(id), 'fs');
      const extra = [...sn.overlayOptions];
      expect(await sn.prepare('a', undefined)).toEqual([{ type: 'bind', source: fs(1), options: ['rw', 'rbind'] }]);
      await sn.commit('base', 'a');
      expect(await sn.view('v0', undefined)).toEqual([{ type: 'bind', source: fs(2), options: ['ro', 'rbind'] }]);
      expect(await sn.view('v1', 'base')).toEqual([{ type: 'bind', source: fs(1), options: ['ro', 'rbind'] }]);
      const work = join(ctx.root, 'snapshots', '4', 'work');
      expect(await sn.prepare('b', 'base')).toEqual([
        { type: 'overlay', source: 'overlay', options: [...extra, `workdir=${work}`, `upperdir=${fs(4)}`, `lowerdir=${fs(1)}`] },
      ]);
      await sn.commit('mid', 'b');
      expect(existsSync(work)).toBe(false); // commit drops the work dir
      expect(await sn.view('v2', 'mid')).toEqual([
        { type: 'overlay', source: 'overlay', options: [...extra, `lowerdir=${fs(4)}:${fs(1)}`] },
      ]);
      await expectKind(sn.mounts('mid'), ErrorKind.InvalidArgument);
    });

    test('metadata survives re-opening the snapshotter on the same root', async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { f: 'kept' });
      await ctx.sn.prepare('live', 'base', { labels: { l: '1' } });
      const before = await ctx.sn.stat('base');
      await ctx.sn.close();
      const again = await createOverlaySnapshotter({ root: ctx.root });
      try {
        expect(await again.stat('base')).toEqual(before);
        expect(await again.stat('live')).toMatchObject({ kind: 'active', parent: 'base', labels: { l: '1' } });
        const mounts = await again.view('v', 'base');
        expect(await withMounts(mounts, readTree, { tmpdir: ctx.base })).toEqual({ f: 'kept' });
        await again.remove('v');
      } finally {
        await again.close();
      }
    });

    test('a chain of 200 layers mounts (the lowerdir option is past one page)', async (ctx) => {
      let parent: string | undefined;
      for (let i = 0; i < 199; i++) {
        await ctx.sn.prepare(`tmp-${i}`, parent);
        await ctx.sn.commit(`layer-${i}`, `tmp-${i}`);
        parent = `layer-${i}`;
      }
      await commitLayer(ctx, 'layer-199', parent, { top: 'yes' });
      const mounts = await ctx.sn.view('v', 'layer-199');
      expect(mounts[0]!.options.at(-1)!.length).toBeGreaterThan(4096);
      expect(await withMounts(mounts, readTree, { tmpdir: ctx.base })).toEqual({ top: 'yes' });
      await ctx.sn.remove('v');
    });

    test('a second snapshotter on a root in use is Unavailable', async (ctx) => {
      await expectKind(createOverlaySnapshotter({ root: ctx.root }), ErrorKind.Unavailable);
    });

    test('crash leftovers in snapshots/ are removed at open; removed snapshots leave no dir', async (ctx) => {
      await commitLayer(ctx, 'base', undefined, { f: 'x' });
      await ctx.sn.prepare('gone', 'base');
      await ctx.sn.remove('gone');
      await ctx.sn.close();
      const dir = join(ctx.root, 'snapshots');
      for (const junk of ['new-abc', 'rm-7', '99']) await mkdir(join(dir, junk, 'fs'), { recursive: true });
      const again = await createOverlaySnapshotter({ root: ctx.root });
      try {
        expect((await readdir(dir)).sort()).toEqual(['1']);
      } finally {
        await again.close();
      }
    });
  });
});

describe('overlay snapshotter without privilege', () => {
  it.skipIf(isRoot)('refuses to open (the engine skips the plugin)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'berth-overlay-noroot-'));
    try {
      const err = await createOverlaySnapshotter({ root: join(base, 'root') }).catch((e: unknown) => e);
      expect([ErrorKind.NotImplemented, ErrorKind.FailedPrecondition]).toContain(kindOf(err));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

afterAll(async () => {
  const leaked = (await mountsUnder(tmpdir())).filter((m) => /berth-(snapshots-suite|mount|overlay)/.test(m));
  expect(leaked).toEqual([]);
});
