import { ErrorKind } from '@berth/errdefs';
import { MediaType, digestOf, type Descriptor } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { createMemoryImageStore } from './image-store';
import { rejectsWithKind } from './test/helpers';

const target = (s: string, mediaType: string = MediaType.OciManifest): Descriptor => ({ mediaType, digest: digestOf(s), size: s.length });

describe('MemoryImageStore', () => {
  it('create, get, AlreadyExists, NotFound, delete', async () => {
    const store = createMemoryImageStore();
    const created = await store.create({ name: 'docker.io/library/busybox:latest', target: target('a'), labels: { x: '1' } });
    expect(created.createdAt).toEqual(created.updatedAt);
    expect(await store.get('docker.io/library/busybox:latest')).toEqual(created);
    await rejectsWithKind(store.create({ name: 'docker.io/library/busybox:latest', target: target('b') }), ErrorKind.AlreadyExists);
    await rejectsWithKind(store.get('nope'), ErrorKind.NotFound);
    await store.delete('docker.io/library/busybox:latest');
    await rejectsWithKind(store.delete('docker.io/library/busybox:latest'), ErrorKind.NotFound);
    await rejectsWithKind(store.get('docker.io/library/busybox:latest'), ErrorKind.NotFound);
  });

  it.each([
    ['an empty name', { name: '', target: target('a') }],
    ['a bad digest', { name: 'n', target: { ...target('a'), digest: 'sha256:zz' as Descriptor['digest'] } }],
    ['no media type', { name: 'n', target: { ...target('a'), mediaType: '' } }],
    ['an oversized label', { name: 'n', target: target('a'), labels: { k: 'v'.repeat(5000) } }],
  ])('create with %s is InvalidArgument', async (_what, image) => {
    await rejectsWithKind(createMemoryImageStore().create(image), ErrorKind.InvalidArgument);
  });

  it('update by fieldpaths: target, labels, labels.<k>; none means both; unknown is InvalidArgument', async () => {
    const store = createMemoryImageStore();
    const first = await store.create({ name: 'img', target: target('a'), labels: { keep: 'k', drop: 'd' } });
    const t1 = await store.update({ name: 'img', target: target('b'), labels: { ignored: 'x' } }, ['target']);
    expect(t1.target.digest).toBe(digestOf('b'));
    expect(t1.labels).toEqual({ keep: 'k', drop: 'd' });
    expect(t1.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
    expect(t1.createdAt).toEqual(first.createdAt);
    const t2 = await store.update({ name: 'img', labels: { drop: '', added: 'a' } }, ['labels.drop', 'labels.added']);
    expect(t2.labels).toEqual({ keep: 'k', added: 'a' });
    const t3 = await store.update({ name: 'img', target: target('c'), labels: { only: 'o' } });
    expect([t3.target.digest, t3.labels]).toEqual([digestOf('c'), { only: 'o' }]);
    await rejectsWithKind(store.update({ name: 'img', labels: {} }, ['name']), ErrorKind.InvalidArgument);
    await rejectsWithKind(store.update({ name: 'img' }, ['target']), ErrorKind.InvalidArgument);
    await rejectsWithKind(store.update({ name: 'other', target: target('a') }, ['target']), ErrorKind.NotFound);
  });

  it('returns copies: mutating a record changes nothing stored', async () => {
    const store = createMemoryImageStore();
    const created = await store.create({ name: 'img', target: target('a'), labels: { a: '1' } });
    created.labels.a = '2';
    created.target.size = 99;
    expect(await store.get('img')).toMatchObject({ labels: { a: '1' }, target: { size: 1 } });
  });

  it('list filters by name, target.digest, target.mediatype and labels, sorted by name; OR across strings', async () => {
    const store = createMemoryImageStore();
    await store.create({ name: 'b', target: target('1'), labels: { 'a.b': 'x', env: 'prod' } });
    await store.create({ name: 'a', target: target('2', MediaType.OciIndex), labels: { env: 'dev' } });
    await store.create({ name: 'c', target: target('1') });
    const names = async (...f: string[]) => (await store.list(...f)).map((i) => i.name);
    expect(await names()).toEqual(['a', 'b', 'c']);
    expect(await names('')).toEqual(['a', 'b', 'c']);
    expect(await names('name==b')).toEqual(['b']);
    expect(await names(`target.digest==${digestOf('1')}`)).toEqual(['b', 'c']);
    expect(await names(`target.mediatype==${MediaType.OciIndex}`)).toEqual(['a']);
    expect(await names('labels."a.b"==x')).toEqual(['b']);
    expect(await names('labels.env')).toEqual(['a', 'b']);
    expect(await names('labels.env==prod', 'name==c')).toEqual(['b', 'c']);
    expect(await names('name~=^[ab]$,labels.env!=dev')).toEqual(['b']);
    await rejectsWithKind(store.list('name=='), ErrorKind.InvalidArgument);
  });
});
