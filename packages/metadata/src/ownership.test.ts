import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { digestOf, expectKind, openStore } from './test/helpers';

describe('content ownership', () => {
  it('adds, gets, lists, updates labels and removes a namespace record', () => {
    const store = openStore();
    const rec = store.content.add('default', digestOf('a'), { 'containerd.io/gc.ref.content.l.0': digestOf('b'), x: '' });
    expect(rec).toEqual({
      digest: digestOf('a'),
      labels: { 'containerd.io/gc.ref.content.l.0': digestOf('b') },
      createdAt: expect.any(Date),
      updatedAt: rec.createdAt,
    });
    expect(store.content.get('default', digestOf('a'))).toEqual(rec);
    store.content.add('default', digestOf('b'));
    expect(store.content.list('default').map((c) => c.digest)).toEqual([digestOf('a'), digestOf('b')]);

    const u = store.content.updateLabels('default', digestOf('a'), { 'containerd.io/uncompressed': digestOf('c') }, [
      'labels.containerd.io/uncompressed',
    ]);
    expect(u.labels).toEqual({ 'containerd.io/gc.ref.content.l.0': digestOf('b'), 'containerd.io/uncompressed': digestOf('c') });
    expect(u.updatedAt.getTime()).toBeGreaterThan(rec.updatedAt.getTime());
    expect(u.createdAt).toEqual(rec.createdAt);
    expect(store.content.updateLabels('default', digestOf('a'), {}, ['labels.containerd.io/uncompressed']).labels).toEqual({
      'containerd.io/gc.ref.content.l.0': digestOf('b'),
    });
    expect(store.content.updateLabels('default', digestOf('a'), { only: '1' }).labels).toEqual({ only: '1' });
    expect(store.content.updateLabels('default', digestOf('a'), { l: '1' }, ['labels']).labels).toEqual({ l: '1' });

    store.content.remove('default', digestOf('a'));
    expect(store.content.list('default').map((c) => c.digest)).toEqual([digestOf('b')]);
  });

  it('errors: AlreadyExists, NotFound, InvalidArgument', () => {
    const store = openStore();
    store.content.add('default', digestOf('a'));
    expect(expectKind(() => store.content.add('default', digestOf('a')), ErrorKind.AlreadyExists).message).toBe(
      `content ${digestOf('a')}: already exists`,
    );
    expect(expectKind(() => store.content.get('default', digestOf('f')), ErrorKind.NotFound).message).toBe(
      `content ${digestOf('f')}: not found`,
    );
    expectKind(() => store.content.remove('default', digestOf('f')), ErrorKind.NotFound);
    expectKind(() => store.content.updateLabels('default', digestOf('f'), {}), ErrorKind.NotFound);
    expectKind(() => store.content.add('default', 'sha256:nothex'), ErrorKind.InvalidArgument);
    expectKind(() => store.content.add('default', digestOf('b'), { '': '1' }), ErrorKind.InvalidArgument);
    expectKind(() => store.content.updateLabels('default', digestOf('a'), { a: '1' }, ['size']), ErrorKind.InvalidArgument);
    expectKind(() => store.content.updateLabels('default', digestOf('a'), { k: 'v'.repeat(5000) }), ErrorKind.InvalidArgument);
    expect(store.content.get('default', digestOf('a')).labels).toEqual({});
  });

  it('is per namespace, with per-namespace labels; isReferenced looks across namespaces', () => {
    const store = openStore();
    store.content.add('a', digestOf('1'), { who: 'a' });
    store.content.add('b', digestOf('1'), { who: 'b' });
    expect(store.content.get('a', digestOf('1')).labels).toEqual({ who: 'a' });
    expect(store.content.get('b', digestOf('1')).labels).toEqual({ who: 'b' });
    expectKind(() => store.content.get('c', digestOf('1')), ErrorKind.NotFound);
    store.content.remove('a', digestOf('1'));
    expect(store.content.isReferenced(digestOf('1'))).toBe(true);
    store.content.remove('b', digestOf('1'));
    expect(store.content.isReferenced(digestOf('1'))).toBe(false);
  });

  it('lists with filters over digest and labels', () => {
    const store = openStore();
    store.content.add('default', digestOf('a'), { 'containerd.io/distribution.source.docker.io': 'library/busybox' });
    store.content.add('default', digestOf('b'), { 'containerd.io/uncompressed': digestOf('c') });
    const ds = (...f: string[]) => store.content.list('default', f).map((c) => c.digest);
    expect(ds(`digest==${digestOf('b')}`)).toEqual([digestOf('b')]);
    expect(ds('labels."containerd.io/uncompressed"')).toEqual([digestOf('b')]);
    expect(ds('labels."containerd.io/distribution.source.docker.io"~=busybox')).toEqual([digestOf('a')]);
  });
});

describe('snapshot ownership', () => {
  it('adds, gets, lists, updates labels and removes a namespace record', () => {
    const store = openStore();
    const rec = store.snapshots.add('default', 'overlayfs', 'sha256:chain1', { 'containerd.io/gc.root': 'x' });
    expect(rec).toEqual({
      snapshotter: 'overlayfs',
      key: 'sha256:chain1',
      labels: { 'containerd.io/gc.root': 'x' },
      createdAt: expect.any(Date),
      updatedAt: rec.createdAt,
    });
    expect(store.snapshots.get('default', 'overlayfs', 'sha256:chain1')).toEqual(rec);
    store.snapshots.add('default', 'native', 'extract-1 sha256:chain1');
    store.snapshots.add('default', 'overlayfs', 'c1');
    expect(store.snapshots.list('default').map((s) => `${s.snapshotter}/${s.key}`)).toEqual([
      'native/extract-1 sha256:chain1',
      'overlayfs/c1',
      'overlayfs/sha256:chain1',
    ]);
    const u = store.snapshots.updateLabels('default', 'overlayfs', 'sha256:chain1', { 'containerd.io/gc.root': '' }, [
      'labels.containerd.io/gc.root',
    ]);
    expect(u.labels).toEqual({});
    expect(u.updatedAt.getTime()).toBeGreaterThan(rec.updatedAt.getTime());
    store.snapshots.remove('default', 'overlayfs', 'sha256:chain1');
    expectKind(() => store.snapshots.get('default', 'overlayfs', 'sha256:chain1'), ErrorKind.NotFound);
  });

  it('errors: AlreadyExists, NotFound, InvalidArgument', () => {
    const store = openStore();
    store.snapshots.add('default', 'overlayfs', 'k');
    expect(expectKind(() => store.snapshots.add('default', 'overlayfs', 'k'), ErrorKind.AlreadyExists).message).toBe(
      'snapshot "k" (overlayfs): already exists',
    );
    expect(expectKind(() => store.snapshots.get('default', 'native', 'k'), ErrorKind.NotFound).message).toBe(
      'snapshot "k" (native): not found',
    );
    expectKind(() => store.snapshots.remove('default', 'overlayfs', 'x'), ErrorKind.NotFound);
    expectKind(() => store.snapshots.updateLabels('default', 'overlayfs', 'x', {}), ErrorKind.NotFound);
    expectKind(() => store.snapshots.add('default', '', 'k'), ErrorKind.InvalidArgument);
    expectKind(() => store.snapshots.add('default', 'over/lay', 'k'), ErrorKind.InvalidArgument);
    expectKind(() => store.snapshots.add('default', 'overlayfs', ''), ErrorKind.InvalidArgument);
    expectKind(() => store.snapshots.updateLabels('default', 'overlayfs', 'k', {}, ['parent']), ErrorKind.InvalidArgument);
  });

  it('is per namespace; isReferenced looks across namespaces', () => {
    const store = openStore();
    store.snapshots.add('a', 'overlayfs', 'k', { who: 'a' });
    store.snapshots.add('b', 'overlayfs', 'k', { who: 'b' });
    expect(store.snapshots.get('b', 'overlayfs', 'k').labels).toEqual({ who: 'b' });
    store.snapshots.remove('a', 'overlayfs', 'k');
    expect(store.snapshots.isReferenced('overlayfs', 'k')).toBe(true);
    expect(store.snapshots.isReferenced('native', 'k')).toBe(false);
    store.snapshots.remove('b', 'overlayfs', 'k');
    expect(store.snapshots.isReferenced('overlayfs', 'k')).toBe(false);
  });

  it('lists with filters over snapshotter, key/name and labels', () => {
    const store = openStore();
    store.snapshots.add('default', 'overlayfs', 'a', { l: '1' });
    store.snapshots.add('default', 'native', 'a');
    store.snapshots.add('default', 'overlayfs', 'b');
    const keys = (...f: string[]) => store.snapshots.list('default', f).map((s) => `${s.snapshotter}/${s.key}`);
    expect(keys('snapshotter==overlayfs')).toEqual(['overlayfs/a', 'overlayfs/b']);
    expect(keys('key==a')).toEqual(['native/a', 'overlayfs/a']);
    expect(keys('name==b')).toEqual(['overlayfs/b']);
    expect(keys('labels.l')).toEqual(['overlayfs/a']);
  });
});
