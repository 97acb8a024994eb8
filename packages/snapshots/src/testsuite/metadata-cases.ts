import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import type { Info } from '../types';
import { expectKind, listTree, withSnapshotter, type CaseContext, type SnapshotterFactory } from './context';

async function walkNames(ctx: CaseContext, ...filters: string[]): Promise<string[]> {
  const names: string[] = [];
  await ctx.sn.walk((info) => {
    names.push(info.name);
  }, ...filters);
  return names.sort();
}

/** Paths under the root, without sizes (the database files may change size on their own). */
async function paths(root: string): Promise<string[]> {
  return (await listTree(root)).map((l) => l.replace(/ \(.*\)$/, '')).filter((l) => !/metadata\.db/.test(l));
}

/** Cases on the snapshot records themselves; they mount nothing, so they run without root. */
export function metadataCases(factory: SnapshotterFactory): void {
  const test = (name: string, body: (ctx: CaseContext) => Promise<void>) => it(name, withSnapshotter(factory, body));

  describe('metadata', () => {
    test('prepare, commit, stat and walk', async (ctx) => {
      const { sn } = ctx;
      const before = Date.now();
      const mounts = await sn.prepare('a', undefined, { labels: { 'x.y': '1' } });
      expect(mounts.length).toBeGreaterThan(0);
      const active = await sn.stat('a');
      expect(active).toMatchObject({ kind: 'active', name: 'a', labels: { 'x.y': '1' } });
      expect(active.parent).toBeUndefined();
      expect(active.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await sn.mounts('a')).toEqual(mounts);

      await sn.commit('base', 'a', { labels: { committed: 'yes' } });
      await expectKind(sn.stat('a'), ErrorKind.NotFound);
      const base = await sn.stat('base');
      expect(base).toMatchObject({ kind: 'committed', name: 'base', labels: { committed: 'yes' } });
      await expectKind(sn.mounts('base'), ErrorKind.InvalidArgument);

      await sn.prepare('b', 'base');
      await sn.view('v', 'base');
      await sn.prepare('empty-parent', '');
      expect(await sn.stat('b')).toMatchObject({ kind: 'active', parent: 'base' });
      expect(await sn.stat('v')).toMatchObject({ kind: 'view', parent: 'base' });
      expect((await sn.stat('empty-parent')).parent).toBeUndefined();

      const seen: Info[] = [];
      await sn.walk((info) => {
        seen.push(info);
      });
      const kinds = Object.fromEntries(seen.map((i) => [i.name, i.kind]));
      expect(kinds).toEqual({ base: 'committed', b: 'active', v: 'view', 'empty-parent': 'active' });
    });

    test('prepare and view: AlreadyExists, NotFound, InvalidArgument, and nothing left behind', async (ctx) => {
      const { sn, root } = ctx;
      await sn.prepare('active', undefined);
      await sn.prepare('tmp', undefined);
      await sn.commit('committed', 'tmp');
      await sn.view('view', 'committed');
      const clean = await paths(root);
      for (const create of [sn.prepare.bind(sn), sn.view.bind(sn)]) {
        for (const key of ['active', 'committed', 'view']) await expectKind(create(key, undefined), ErrorKind.AlreadyExists);
        await expectKind(create('new', 'missing'), ErrorKind.NotFound);
        await expectKind(create('new', 'active'), ErrorKind.InvalidArgument);
        await expectKind(create('new', 'view'), ErrorKind.InvalidArgument);
        await expectKind(create('', 'committed'), ErrorKind.InvalidArgument);
        await expectKind(create('new', undefined, { labels: { big: 'x'.repeat(5000) } }), ErrorKind.InvalidArgument);
      }
      await expectKind(sn.stat('new'), ErrorKind.NotFound);
      expect(await paths(root)).toEqual(clean);
    });

    test('commit: FailedPrecondition for a view, NotFound, AlreadyExists', async ({ sn }) => {
      await sn.prepare('tmp', undefined);
      await sn.commit('base', 'tmp');
      await sn.view('view', 'base');
      await sn.prepare('active', 'base');
      await sn.prepare('other', undefined);
      await expectKind(sn.commit('c', 'view'), ErrorKind.FailedPrecondition);
      await expectKind(sn.commit('c', 'base'), ErrorKind.FailedPrecondition);
      await expectKind(sn.commit('c', 'missing'), ErrorKind.NotFound);
      await expectKind(sn.commit('base', 'active'), ErrorKind.AlreadyExists);
      await expectKind(sn.commit('other', 'active'), ErrorKind.AlreadyExists);
      expect((await sn.stat('active')).kind).toBe('active'); // a failed commit changes nothing
      await sn.commit('c', 'active');
      expect(await sn.stat('c')).toMatchObject({ kind: 'committed', parent: 'base' });
    });

    test('remove: FailedPrecondition with children, NotFound, and the key is free again', async ({ sn }) => {
      await sn.prepare('tmp', undefined);
      await sn.commit('base', 'tmp');
      await sn.prepare('tmp2', 'base');
      await sn.commit('mid', 'tmp2');
      await sn.view('view', 'mid');
      await expectKind(sn.remove('base'), ErrorKind.FailedPrecondition);
      await expectKind(sn.remove('mid'), ErrorKind.FailedPrecondition);
      await expectKind(sn.remove('missing'), ErrorKind.NotFound);
      await sn.remove('view');
      await sn.remove('mid');
      await sn.remove('base');
      await expectKind(sn.remove('base'), ErrorKind.NotFound);
      await sn.prepare('base', undefined);
      expect((await sn.stat('base')).kind).toBe('active');
    });

    test('update labels through fieldpaths', async ({ sn }) => {
      await sn.prepare('k', undefined, { labels: { keep: '1', drop: '2' } });
      const created = await sn.stat('k');
      await new Promise((r) => setTimeout(r, 5));
      let info = await sn.update({ name: 'k', labels: { add: '3', drop: '' } }, 'labels.add', 'labels.drop');
      expect(info.labels).toEqual({ keep: '1', add: '3' });
      expect(info.createdAt).toEqual(created.createdAt);
      expect(info.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect((await sn.stat('k')).labels).toEqual({ keep: '1', add: '3' });
      info = await sn.update({ name: 'k', labels: { a: 'b' } }, 'labels.missing');
      expect(info.labels).toEqual({ keep: '1', add: '3' });
      info = await sn.update({ name: 'k', labels: { only: 'this' } }, 'labels');
      expect(info.labels).toEqual({ only: 'this' });
      info = await sn.update({ name: 'k', labels: { fresh: '1' } });
      expect(info.labels).toEqual({ fresh: '1' });
      for (const bad of ['name', 'parent', 'kind', 'labels.', 'labelsx']) {
        await expectKind(sn.update({ name: 'k', labels: {} }, bad), ErrorKind.InvalidArgument);
      }
      await expectKind(sn.update({ name: 'k', labels: { big: 'x'.repeat(5000) } }), ErrorKind.InvalidArgument);
      expect((await sn.stat('k')).labels).toEqual({ fresh: '1' });
      await expectKind(sn.update({ name: 'missing', labels: {} }), ErrorKind.NotFound);
    });

    test('walk with filters', async (ctx) => {
      const { sn } = ctx;
      await sn.prepare('tmp', undefined, {});
      await sn.commit('base', 'tmp', { labels: { tier: 'base', 'a.b': 'c' } });
      await sn.prepare('child', 'base', { labels: { tier: 'top' } });
      await sn.view('look', 'base', { labels: { tier: 'top', extra: '' } });
      await sn.prepare('lone', undefined);
      expect(await walkNames(ctx)).toEqual(['base', 'child', 'lone', 'look']);
      expect(await walkNames(ctx, '')).toEqual(['base', 'child', 'lone', 'look']);
      expect(await walkNames(ctx, 'kind==committed')).toEqual(['base']);
      expect(await walkNames(ctx, 'kind==active')).toEqual(['child', 'lone']);
      expect(await walkNames(ctx, 'kind==view')).toEqual(['look']);
      expect(await walkNames(ctx, 'parent==base')).toEqual(['child', 'look']);
      // As containerd: `parent` is always present (empty for a root), so a bare `parent` matches
      // every snapshot and `parent!=""` those with one.
      expect(await walkNames(ctx, 'parent')).toEqual(['base', 'child', 'lone', 'look']);
      expect(await walkNames(ctx, 'parent!=""')).toEqual(['child', 'look']);
      expect(await walkNames(ctx, 'labels.tier==top')).toEqual(['child', 'look']);
      expect(await walkNames(ctx, 'labels.tier==top,kind==view')).toEqual(['look']);
      expect(await walkNames(ctx, 'kind==view', 'name==lone')).toEqual(['lone', 'look']);
      expect(await walkNames(ctx, 'labels."a.b"==c')).toEqual(['base']);
      expect(await walkNames(ctx, 'labels.a.b==c')).toEqual(['base']);
      expect(await walkNames(ctx, 'name~=^l')).toEqual(['lone', 'look']);
      expect(await walkNames(ctx, 'labels.tier!=top')).toEqual(['base', 'lone']);
      expect(await walkNames(ctx, 'name==nothing')).toEqual([]);
      await expectKind(sn.walk(() => {}, 'name=='), ErrorKind.InvalidArgument);
    });

    test('stat, usage, mounts and update of a missing key are NotFound', async ({ sn }) => {
      await expectKind(sn.stat('missing'), ErrorKind.NotFound);
      await expectKind(sn.usage('missing'), ErrorKind.NotFound);
      await expectKind(sn.mounts('missing'), ErrorKind.NotFound);
      await expectKind(sn.update({ name: 'missing' }), ErrorKind.NotFound);
    });

    test('usage of an empty active snapshot and of its commit', async ({ sn }) => {
      await sn.prepare('a', undefined);
      const active = await sn.usage('a');
      expect(active.inodes).toBeGreaterThanOrEqual(1);
      await sn.commit('c', 'a');
      const committed = await sn.usage('c');
      expect(committed.inodes).toBeGreaterThanOrEqual(1);
      expect(committed.size).toBeGreaterThanOrEqual(0);
    });

    test('close: further calls fail, and closing twice is fine', async ({ sn }) => {
      await sn.prepare('a', undefined);
      await sn.close();
      await sn.close();
      await expect(sn.stat('a')).rejects.toThrow();
      await expect(sn.prepare('b', undefined)).rejects.toThrow();
      await expect(sn.walk(() => {})).rejects.toThrow();
      await expect(sn.remove('a')).rejects.toThrow();
    });
  });
}
