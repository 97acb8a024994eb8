import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { digestOf, expectKind, image, openStore } from './test/helpers';

const index = 'application/vnd.oci.image.index.v1+json';

describe('images', () => {
  it('creates, gets, lists and deletes an image', () => {
    const store = openStore();
    const before = Date.now();
    const created = store.images.create('default', image('docker.io/library/busybox:latest', { labels: { a: '1', gone: '' } }));
    expect(created).toMatchObject({
      name: 'docker.io/library/busybox:latest',
      labels: { a: '1' },
      target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('a'), size: 123 },
    });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(created.updatedAt).toEqual(created.createdAt);
    expect(store.images.get('default', 'docker.io/library/busybox:latest')).toEqual(created);
    expect(store.images.list('default')).toEqual([created]);
    store.images.delete('default', 'docker.io/library/busybox:latest');
    expect(store.images.list('default')).toEqual([]);
  });

  it('keeps target annotations and drops descriptor fields containerd does not store', () => {
    const store = openStore();
    const target = {
      mediaType: index,
      digest: digestOf('c'),
      size: 9,
      annotations: { 'org.opencontainers.image.ref.name': 'latest' },
      urls: ['https://example.com'],
    };
    expect(store.images.create('default', image('x', { target })).target).toEqual({
      mediaType: index,
      digest: digestOf('c'),
      size: 9,
      annotations: { 'org.opencontainers.image.ref.name': 'latest' },
    });
  });

  it('errors with containerd kinds and messages', () => {
    const store = openStore();
    store.images.create('default', image('busybox'));
    expect(expectKind(() => store.images.create('default', image('busybox')), ErrorKind.AlreadyExists).message).toBe(
      'image "busybox": already exists',
    );
    expect(expectKind(() => store.images.get('default', 'nope'), ErrorKind.NotFound).message).toBe('image "nope": not found');
    expectKind(() => store.images.delete('default', 'nope'), ErrorKind.NotFound);
    expectKind(() => store.images.update('default', image('nope'), ['target']), ErrorKind.NotFound);
    expectKind(() => store.images.get('other', 'busybox'), ErrorKind.NotFound);
  });

  it('validates name, labels and target (InvalidArgument)', () => {
    const store = openStore();
    const bad = [
      image(''),
      image('x', { labels: { k: 'v'.repeat(4096) } }),
      image('x', { target: { mediaType: index, digest: 'sha256:short' as never, size: 1 } }),
      image('x', { target: { mediaType: index, digest: 'md5:abc' as never, size: 1 } }),
      image('x', { target: { mediaType: index, digest: digestOf('a'), size: 0 } }),
      image('x', { target: { mediaType: index, digest: digestOf('a'), size: 1.5 } }),
      image('x', { target: { mediaType: '', digest: digestOf('a'), size: 1 } }),
    ];
    for (const img of bad) expectKind(() => store.images.create('default', img), ErrorKind.InvalidArgument);
    expect(store.images.list('default')).toEqual([]);
  });

  it('isolates namespaces: the same name in two namespaces are two images', () => {
    const store = openStore();
    store.images.create('a', image('busybox', { labels: { ns: 'a' } }));
    store.images.create('b', image('busybox', { labels: { ns: 'b' } }));
    expect(store.images.get('a', 'busybox').labels).toEqual({ ns: 'a' });
    expect(store.images.get('b', 'busybox').labels).toEqual({ ns: 'b' });
    store.images.delete('a', 'busybox');
    expectKind(() => store.images.get('a', 'busybox'), ErrorKind.NotFound);
    expect(store.images.get('b', 'busybox').labels).toEqual({ ns: 'b' });
  });

  describe('list filters', () => {
    const setup = () => {
      const store = openStore();
      store.images.create(
        'default',
        image('docker.io/library/alpine:3', {
          labels: { 'a.b': 'dotted', env: 'prod' },
          target: { mediaType: index, digest: digestOf('1'), size: 1, annotations: { note: 'hi' } },
        }),
      );
      store.images.create('default', image('docker.io/library/busybox:latest', { labels: { env: 'dev' } }));
      store.images.create('default', image('example.com/tool:1'));
      return store;
    };
    const names = (store: ReturnType<typeof setup>, ...filters: string[]) =>
      store.images.list('default', filters).map((i) => i.name);

    it.each([
      [['name==docker.io/library/alpine:3'], ['docker.io/library/alpine:3']],
      [['name!=docker.io/library/alpine:3'], ['docker.io/library/busybox:latest', 'example.com/tool:1']],
      [['name~=^docker\\.io/'], ['docker.io/library/alpine:3', 'docker.io/library/busybox:latest']],
      [['labels.env'], ['docker.io/library/alpine:3', 'docker.io/library/busybox:latest']],
      [['labels.env==prod'], ['docker.io/library/alpine:3']],
      [['labels.env!=prod'], ['docker.io/library/busybox:latest', 'example.com/tool:1']],
      [['labels."a.b"==dotted'], ['docker.io/library/alpine:3']],
      [['labels.a.b==dotted'], ['docker.io/library/alpine:3']],
      [[`target.digest==${digestOf('1')}`], ['docker.io/library/alpine:3']],
      [[`target.mediatype==${index}`], ['docker.io/library/alpine:3']],
      [['annotations.note==hi'], ['docker.io/library/alpine:3']],
      [['labels.env==dev', 'name~=tool'], ['docker.io/library/busybox:latest', 'example.com/tool:1']],
      [['labels.env,name~=busybox'], ['docker.io/library/busybox:latest']],
      [[''], ['docker.io/library/alpine:3', 'docker.io/library/busybox:latest', 'example.com/tool:1']],
      [['nosuchfield'], []],
    ])('%j → %j', (filters, want) => {
      expect(names(setup(), ...filters)).toEqual(want);
    });

    it('refuses a malformed filter (InvalidArgument)', () => {
      const store = setup();
      expectKind(() => store.images.list('default', ['name==']), ErrorKind.InvalidArgument);
      expectKind(() => store.images.list('default', ['name~=(']), ErrorKind.InvalidArgument);
    });
  });

  describe('update', () => {
    it('with no mask replaces labels and target, keeping createdAt and moving updatedAt forward', () => {
      const store = openStore();
      const created = store.images.create('default', image('x', { labels: { a: '1' } }));
      const target = { mediaType: index, digest: digestOf('f'), size: 7 };
      const updated = store.images.update('default', { name: 'x', labels: { b: '2' }, target });
      expect(updated.labels).toEqual({ b: '2' });
      expect(updated.target).toEqual(target);
      expect(updated.createdAt).toEqual(created.createdAt);
      expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
      expect(store.images.get('default', 'x')).toEqual(updated);
    });

    it('with paths: labels.<k> sets or deletes one label, labels replaces, target replaces as a unit', () => {
      const store = openStore();
      store.images.create('default', image('x', { labels: { a: '1', b: '2' } }));
      const patch = { name: 'x', labels: { a: '', c: '3', d: 'ignored' } };
      expect(store.images.update('default', patch, ['labels.a', 'labels.c', 'labels.b']).labels).toEqual({ c: '3' });
      expect(store.images.update('default', { name: 'x', labels: { z: '1' } }, ['labels']).labels).toEqual({ z: '1' });
      const target = { mediaType: index, digest: digestOf('e'), size: 2 };
      const updated = store.images.update('default', { name: 'x', target, labels: { nope: '1' } }, ['target']);
      expect(updated.target).toEqual(target);
      expect(updated.labels).toEqual({ z: '1' });
    });

    it('with paths: annotations and annotations.<k> change the target annotations', () => {
      const store = openStore();
      store.images.create('default', image('x', { target: { ...image('x').target, annotations: { a: '1', b: '2' } } }));
      const t = (annotations: Record<string, string>) => ({ ...image('x').target, annotations });
      expect(store.images.update('default', { name: 'x', target: t({ a: '', c: '3' }) }, ['annotations.a', 'annotations.c']).target.annotations).toEqual({
        b: '2',
        c: '3',
      });
      expect(store.images.update('default', { name: 'x', target: t({ q: '1' }) }, ['annotations']).target.annotations).toEqual({
        q: '1',
      });
      expect(store.images.update('default', { name: 'x', target: t({}) }, ['annotations']).target.annotations).toBeUndefined();
    });

    it('refuses an unknown path, an empty name or an invalid result, and changes nothing', () => {
      const store = openStore();
      const created = store.images.create('default', image('x', { labels: { a: '1' } }));
      expectKind(() => store.images.update('default', { name: 'x', labels: { b: '1' } }, ['labels.b', 'createdat']), ErrorKind.InvalidArgument);
      expectKind(() => store.images.update('default', { name: '' }, ['labels']), ErrorKind.InvalidArgument);
      expectKind(() => store.images.update('default', { name: 'x' }), ErrorKind.InvalidArgument);
      expectKind(
        () => store.images.update('default', { name: 'x', target: { ...created.target, size: -1 } }, ['target']),
        ErrorKind.InvalidArgument,
      );
      expectKind(() => store.images.update('default', { name: 'x', labels: { k: 'v'.repeat(5000) } }, ['labels.k']), ErrorKind.InvalidArgument);
      expect(store.images.get('default', 'x')).toEqual(created);
    });
  });
});
