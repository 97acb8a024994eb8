import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { container, digestOf, expectKind, image, openStore } from './test/helpers';

describe('namespaces', () => {
  it('creates, gets and lists namespaces with labels', () => {
    const store = openStore();
    expect(store.namespaces.create('default', { a: '1', empty: '' })).toEqual({ name: 'default', labels: { a: '1' } });
    store.namespaces.create('k8s.io');
    expect(store.namespaces.get('default').labels).toEqual({ a: '1' });
    expect(store.namespaces.list().map((n) => n.name)).toEqual(['default', 'k8s.io']);
    expect(store.namespaces.list(['labels.a==1']).map((n) => n.name)).toEqual(['default']);
    expect(store.namespaces.list(['name~=^k8s']).map((n) => n.name)).toEqual(['k8s.io']);
  });

  it('refuses a duplicate (AlreadyExists), a bad name or labels (InvalidArgument), and gets NotFound', () => {
    const store = openStore();
    store.namespaces.create('default');
    expectKind(() => store.namespaces.create('default'), ErrorKind.AlreadyExists);
    expectKind(() => store.namespaces.create('bad name'), ErrorKind.InvalidArgument);
    expectKind(() => store.namespaces.create(''), ErrorKind.InvalidArgument);
    expectKind(() => store.namespaces.create('ok', { '': 'x' }), ErrorKind.InvalidArgument);
    expectKind(() => store.namespaces.create('ok', { k: 'v'.repeat(5000) }), ErrorKind.InvalidArgument);
    const err = expectKind(() => store.namespaces.get('nope'), ErrorKind.NotFound);
    expect(err.message).toBe('namespace "nope": not found');
    expect(store.namespaces.list().map((n) => n.name)).toEqual(['default']);
  });

  it('updates labels by field path; a label set to "" is deleted; no paths replaces all', () => {
    const store = openStore();
    store.namespaces.create('default', { a: '1', b: '2' });
    expect(store.namespaces.update({ name: 'default', labels: { c: '3', a: 'x' } }, ['labels.c']).labels).toEqual({
      a: '1',
      b: '2',
      c: '3',
    });
    expect(store.namespaces.update({ name: 'default', labels: { a: '' } }, ['labels.a']).labels).toEqual({ b: '2', c: '3' });
    expect(store.namespaces.update({ name: 'default' }, ['labels.b']).labels).toEqual({ c: '3' });
    expect(store.namespaces.update({ name: 'default', labels: { z: '26' } }).labels).toEqual({ z: '26' });
    expect(store.namespaces.update({ name: 'default', labels: { y: '25' } }, ['labels']).labels).toEqual({ y: '25' });
    expectKind(() => store.namespaces.update({ name: 'default' }, ['name']), ErrorKind.InvalidArgument);
    expectKind(() => store.namespaces.update({ name: 'default', labels: { k: 'v'.repeat(5000) } }, ['labels.k']), ErrorKind.InvalidArgument);
    expect(store.namespaces.get('default').labels).toEqual({ y: '25' });
  });

  it('update creates a namespace that does not exist, as containerd does (ctr ns label)', () => {
    const store = openStore();
    expect(store.namespaces.update({ name: 'fresh', labels: { a: '1' } }, ['labels.a'])).toEqual({
      name: 'fresh',
      labels: { a: '1' },
    });
  });

  it('an update that would create a namespace but fails validation creates nothing', () => {
    const store = openStore();
    expectKind(() => store.namespaces.update({ name: 'fresh', labels: { k: 'v'.repeat(5000) } }, ['labels.k']), ErrorKind.InvalidArgument);
    expectKind(() => store.namespaces.update({ name: 'fresh' }, ['bogus']), ErrorKind.InvalidArgument);
    expect(store.namespaces.list()).toEqual([]);
  });

  it('keeps a label key such as __proto__ as an ordinary key', () => {
    const store = openStore();
    store.namespaces.create('default');
    const labels = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    const ns = store.namespaces.update({ name: 'default', labels }, ['labels.__proto__']);
    expect(Object.keys(ns.labels)).toEqual(['__proto__']);
    expect(store.namespaces.list(['labels.__proto__==x'])).toHaveLength(1);
  });

  it('deletes an empty namespace; NotFound when absent', () => {
    const store = openStore();
    store.namespaces.create('default');
    store.namespaces.delete('default');
    expect(store.namespaces.list()).toEqual([]);
    expectKind(() => store.namespaces.delete('default'), ErrorKind.NotFound);
  });

  it('refuses to delete a namespace that still owns something, naming what (FailedPrecondition)', () => {
    const store = openStore();
    const owners: Array<[string, (ns: string) => void]> = [
      ['images', (ns) => store.images.create(ns, image('busybox'))],
      ['containers', (ns) => store.containers.create(ns, container('c1'))],
      ['leases', (ns) => store.leases.create(ns, { id: 'l1' })],
      ['content', (ns) => store.content.add(ns, digestOf('b'))],
      ['snapshots', (ns) => store.snapshots.add(ns, 'overlayfs', 'k')],
    ];
    for (const [what, fill] of owners) {
      const ns = `ns-${what}`;
      fill(ns);
      const err = expectKind(() => store.namespaces.delete(ns), ErrorKind.FailedPrecondition);
      expect(err.message).toBe(`namespace "${ns}" must be empty, but it still has ${what}`);
      expect(store.namespaces.get(ns).name).toBe(ns);
    }
    store.images.create('ns-images', image('two'));
    store.leases.create('ns-images', { id: 'l' });
    expect(expectKind(() => store.namespaces.delete('ns-images'), ErrorKind.FailedPrecondition).message).toMatch(
      /still has images, leases$/,
    );
    store.images.delete('ns-images', 'busybox');
    store.images.delete('ns-images', 'two');
    store.leases.delete('ns-images', 'l');
    store.namespaces.delete('ns-images');
  });

  it('is created implicitly by the first write into it', () => {
    const store = openStore();
    store.leases.create('implicit', { id: 'l' });
    expect(store.namespaces.get('implicit')).toEqual({ name: 'implicit', labels: {} });
  });

  it('namespaced calls need a namespace: "" is FailedPrecondition, a bad name InvalidArgument', () => {
    const store = openStore();
    expect(expectKind(() => store.images.list(''), ErrorKind.FailedPrecondition).message).toBe('namespace is required');
    expectKind(() => store.images.create('', image('x')), ErrorKind.FailedPrecondition);
    expectKind(() => store.containers.get('a/b', 'x'), ErrorKind.InvalidArgument);
    expectKind(() => store.leases.create('..', { id: 'x' }), ErrorKind.InvalidArgument);
    expect(store.namespaces.list()).toEqual([]);
  });
});
