import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { container, expectKind, openStore, specAny } from './test/helpers';

const ext = (s: string) => ({ typeUrl: 'example.com/Ext', value: new TextEncoder().encode(s) });

describe('containers', () => {
  it('creates, gets, lists and deletes a container, round-tripping the Any fields byte for byte', () => {
    const store = openStore();
    const options = { typeUrl: 'containerd.runc.v1.Options', value: Uint8Array.from([0x08, 0x01, 0xff, 0x00]) };
    const created = store.containers.create(
      'default',
      container('web', {
        labels: { app: 'web', none: '' },
        runtime: { name: 'io.containerd.runc.v2', options },
        spec: specAny({ process: { args: ['sh'] } }),
        extensions: { 'example.ext': ext('payload') },
        sandboxId: 'pod1',
      }),
    );
    expect(created).toMatchObject({
      id: 'web',
      labels: { app: 'web' },
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2', options },
      spec: specAny({ process: { args: ['sh'] } }),
      snapshotter: 'overlayfs',
      snapshotKey: 'web',
      extensions: { 'example.ext': ext('payload') },
      sandboxId: 'pod1',
    });
    expect(created.createdAt).toEqual(created.updatedAt);
    expect(store.containers.get('default', 'web')).toEqual(created);
    expect(store.containers.list('default')).toEqual([created]);
    store.containers.delete('default', 'web');
    expect(store.containers.list('default')).toEqual([]);
  });

  it('stores the minimum: no image, no snapshot, no runtime options, empty spec bytes', () => {
    const store = openStore();
    const c = store.containers.create('default', {
      id: 'bare',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: { typeUrl: 'x', value: new Uint8Array() },
    });
    expect(c).toMatchObject({ image: '', snapshotter: '', snapshotKey: '', labels: {}, extensions: {} });
    expect(c.runtime).toEqual({ name: 'io.containerd.runc.v2' });
    expect(c.spec).toEqual({ typeUrl: 'x', value: new Uint8Array() });
    expect(c.sandboxId).toBeUndefined();
  });

  it('errors with containerd kinds and messages', () => {
    const store = openStore();
    store.containers.create('default', container('c1'));
    expect(expectKind(() => store.containers.create('default', container('c1')), ErrorKind.AlreadyExists).message).toBe(
      'container "c1": already exists',
    );
    expect(expectKind(() => store.containers.get('default', 'nope'), ErrorKind.NotFound).message).toBe(
      'container "nope": not found',
    );
    expectKind(() => store.containers.delete('default', 'nope'), ErrorKind.NotFound);
    expectKind(() => store.containers.update('default', { id: 'nope' }, ['labels']), ErrorKind.NotFound);
  });

  it.each([
    ['a bad id', container('bad id')],
    ['an empty id', container('')],
    ['an id too long', container('x'.repeat(77))],
    ['no runtime name', container('c', { runtime: { name: '' } })],
    ['no spec', container('c', { spec: undefined })],
    ['a snapshot key without a snapshotter', container('c', { snapshotter: '' })],
    ['a bad label', container('c', { labels: { '': 'x' } })],
    ['an empty extension name', container('c', { extensions: { '': ext('x') } })],
    ['an extension that is not an Any', container('c', { extensions: { e: { typeUrl: 'x', value: 'str' as never } } })],
  ])('refuses %s (InvalidArgument)', (_, c) => {
    const store = openStore();
    expectKind(() => store.containers.create('default', c), ErrorKind.InvalidArgument);
    expect(store.containers.list('default')).toEqual([]);
  });

  it('isolates namespaces: the same id in two namespaces are two containers', () => {
    const store = openStore();
    store.containers.create('a', container('c', { image: 'one' }));
    store.containers.create('b', container('c', { image: 'two' }));
    expect(store.containers.get('a', 'c').image).toBe('one');
    expect(store.containers.get('b', 'c').image).toBe('two');
    store.containers.delete('b', 'c');
    expect(store.containers.list('a')).toHaveLength(1);
    expect(store.containers.list('b')).toHaveLength(0);
  });

  it('lists with filters over id, image, runtime.name, snapshotter and labels', () => {
    const store = openStore();
    store.containers.create('default', container('a1', { labels: { 'io.kubernetes.pod': 'p', tier: 'web' } }));
    store.containers.create('default', container('a2', { image: 'alpine', runtime: { name: 'io.containerd.runsc.v1' } }));
    store.containers.create('default', container('b1', { snapshotter: 'native', labels: { tier: 'db' } }));
    const ids = (...f: string[]) => store.containers.list('default', f).map((c) => c.id);
    expect(ids('id==a1')).toEqual(['a1']);
    expect(ids('id~=^a')).toEqual(['a1', 'a2']);
    expect(ids('image==alpine')).toEqual(['a2']);
    expect(ids('image!=alpine')).toEqual(['a1', 'b1']);
    expect(ids('runtime.name==io.containerd.runsc.v1')).toEqual(['a2']);
    expect(ids('snapshotter==native')).toEqual(['b1']);
    expect(ids('labels.tier')).toEqual(['a1', 'b1']);
    expect(ids('labels."io.kubernetes.pod"==p')).toEqual(['a1']);
    expect(ids('labels.tier==db', 'id==a2')).toEqual(['a2', 'b1']);
    expect(ids('labels.tier==web,snapshotter==native')).toEqual([]);
    expectKind(() => store.containers.list('default', ['id=~x']), ErrorKind.InvalidArgument);
  });

  describe('update', () => {
    it('with paths: labels.<k>, labels, spec, image, snapshotkey, extensions.<k>, extensions', () => {
      const store = openStore();
      const created = store.containers.create(
        'default',
        container('c', { labels: { a: '1', b: '2' }, extensions: { e1: ext('1'), e2: ext('2') } }),
      );
      let u = store.containers.update('default', { id: 'c', labels: { a: '', c: '3' } }, ['labels.a', 'labels.c']);
      expect(u.labels).toEqual({ b: '2', c: '3' });
      u = store.containers.update('default', { id: 'c', labels: { z: '1' } }, ['labels']);
      expect(u.labels).toEqual({ z: '1' });
      u = store.containers.update('default', { id: 'c', spec: specAny({ v: 2 }), image: 'new' }, ['spec', 'image']);
      expect(u.spec).toEqual(specAny({ v: 2 }));
      expect(u.image).toBe('new');
      u = store.containers.update('default', { id: 'c', snapshotKey: 'other' }, ['snapshotkey']);
      expect(u.snapshotKey).toBe('other');
      u = store.containers.update('default', { id: 'c', extensions: { e3: ext('3') } }, ['extensions.e1', 'extensions.e3']);
      expect(u.extensions).toEqual({ e2: ext('2'), e3: ext('3') });
      u = store.containers.update('default', { id: 'c', extensions: { only: ext('o') } }, ['extensions']);
      expect(u.extensions).toEqual({ only: ext('o') });
      expect(u.createdAt).toEqual(created.createdAt);
      expect(u.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect(u.runtime).toEqual(created.runtime);
      expect(u.sandboxId).toBe(created.sandboxId);
      expect(store.containers.get('default', 'c')).toEqual(u);
    });

    it('with no mask replaces labels, spec, extensions, image and snapshot key; snapshotter and runtime are immutable', () => {
      const store = openStore();
      const c = store.containers.create('default', container('c', { labels: { a: '1' }, extensions: { e: ext('e') } }));
      const u = store.containers.update('default', {
        id: 'c',
        runtime: { name: c.runtime.name },
        snapshotter: c.snapshotter,
        snapshotKey: 'k2',
        image: 'img2',
        labels: { b: '2' },
        spec: specAny({ x: 1 }),
      });
      expect(u).toMatchObject({ labels: { b: '2' }, image: 'img2', snapshotKey: 'k2', extensions: {}, spec: specAny({ x: 1 }) });
      expect(u.runtime).toEqual(c.runtime);
      expectKind(
        () => store.containers.update('default', { ...container('c'), snapshotter: 'native' }),
        ErrorKind.InvalidArgument,
      );
      expectKind(
        () => store.containers.update('default', { ...container('c'), runtime: { name: 'io.containerd.runsc.v1' } }),
        ErrorKind.InvalidArgument,
      );
      expect(store.containers.get('default', 'c')).toEqual(u);
    });

    it('refuses unknown paths and invalid results, and changes nothing', () => {
      const store = openStore();
      const c = store.containers.create('default', container('c', { labels: { a: '1' } }));
      for (const path of ['runtime', 'snapshotter', 'id', 'createdat', 'sandbox']) {
        expectKind(() => store.containers.update('default', { id: 'c', labels: { q: '1' } }, ['labels.q', path]), ErrorKind.InvalidArgument);
      }
      expectKind(() => store.containers.update('default', { id: 'c' }, ['spec']), ErrorKind.InvalidArgument);
      expectKind(() => store.containers.update('default', { id: '' }, ['labels']), ErrorKind.InvalidArgument);
      expect(store.containers.get('default', 'c')).toEqual(c);
    });
  });
});
