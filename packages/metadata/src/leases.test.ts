import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { digestOf, expectKind, openStore } from './test/helpers';

describe('leases', () => {
  it('creates, gets, lists and deletes a lease; the expiry is just a label', () => {
    const store = openStore();
    const labels = { 'containerd.io/gc.expire': '2030-01-01T00:00:00Z', drop: '' };
    const lease = store.leases.create('default', { id: '1690000000-Ab_-', labels });
    expect(lease).toEqual({
      id: '1690000000-Ab_-',
      labels: { 'containerd.io/gc.expire': '2030-01-01T00:00:00Z' },
      createdAt: expect.any(Date),
    });
    expect(store.leases.get('default', '1690000000-Ab_-')).toEqual(lease);
    expect(store.leases.list('default')).toEqual([lease]);
    store.leases.delete('default', '1690000000-Ab_-');
    expect(store.leases.list('default')).toEqual([]);
  });

  it('errors: AlreadyExists, NotFound, InvalidArgument', () => {
    const store = openStore();
    store.leases.create('default', { id: 'l' });
    expect(expectKind(() => store.leases.create('default', { id: 'l' }), ErrorKind.AlreadyExists).message).toBe(
      'lease "l": already exists',
    );
    expect(expectKind(() => store.leases.get('default', 'x'), ErrorKind.NotFound).message).toBe('lease "x": not found');
    expectKind(() => store.leases.delete('default', 'x'), ErrorKind.NotFound);
    expectKind(() => store.leases.create('default', { id: '' }), ErrorKind.InvalidArgument);
    expectKind(() => store.leases.create('default', { id: 'm', labels: { k: 'v'.repeat(5000) } }), ErrorKind.InvalidArgument);
  });

  it('lists with filters over id and labels', () => {
    const store = openStore();
    store.leases.create('default', { id: 'pull-1', labels: { 'containerd.io/gc.expire': '2030-01-01T00:00:00Z' } });
    store.leases.create('default', { id: 'pull-2' });
    store.leases.create('default', { id: 'run-1', labels: { owner: 'ctr' } });
    const ids = (...f: string[]) => store.leases.list('default', f).map((l) => l.id);
    expect(ids('id~=^pull')).toEqual(['pull-1', 'pull-2']);
    expect(ids('labels."containerd.io/gc.expire"')).toEqual(['pull-1']);
    expect(ids('labels.owner==ctr', 'id==pull-2')).toEqual(['pull-2', 'run-1']);
    expect(ids('id!=pull-1')).toEqual(['pull-2', 'run-1']);
  });

  it('isolates namespaces', () => {
    const store = openStore();
    store.leases.create('a', { id: 'l', labels: { ns: 'a' } });
    store.leases.create('b', { id: 'l', labels: { ns: 'b' } });
    store.leases.addResource('a', 'l', { type: 'content', id: digestOf('1') });
    expect(store.leases.get('b', 'l').labels).toEqual({ ns: 'b' });
    expect(store.leases.listResources('b', 'l')).toEqual([]);
    store.leases.delete('a', 'l');
    expect(store.leases.list('b')).toHaveLength(1);
  });

  describe('resources', () => {
    it('adds (idempotently), lists by type then id, and deletes (idempotently)', () => {
      const store = openStore();
      store.leases.create('default', { id: 'l' });
      const resources = [
        { type: 'snapshots/overlayfs', id: 'extract-1 sha256:abc' },
        { type: 'content', id: digestOf('2') },
        { type: 'ingests', id: 'layer-sha256:abc' },
        { type: 'content', id: digestOf('1') },
      ];
      for (const r of resources) store.leases.addResource('default', 'l', r);
      store.leases.addResource('default', 'l', resources[0]!);
      expect(store.leases.listResources('default', 'l')).toEqual([
        { type: 'content', id: digestOf('1') },
        { type: 'content', id: digestOf('2') },
        { type: 'ingests', id: 'layer-sha256:abc' },
        { type: 'snapshots/overlayfs', id: 'extract-1 sha256:abc' },
      ]);
      store.leases.deleteResource('default', 'l', { type: 'content', id: digestOf('1') });
      store.leases.deleteResource('default', 'l', { type: 'content', id: digestOf('1') });
      expect(store.leases.listResources('default', 'l')).toHaveLength(3);
    });

    it('go with their lease', () => {
      const store = openStore();
      store.leases.create('default', { id: 'l' });
      store.leases.addResource('default', 'l', { type: 'content', id: digestOf('1') });
      store.leases.delete('default', 'l');
      store.leases.create('default', { id: 'l' });
      expect(store.leases.listResources('default', 'l')).toEqual([]);
    });

    it('need an existing lease (NotFound)', () => {
      const store = openStore();
      const r = { type: 'content', id: digestOf('1') };
      expectKind(() => store.leases.addResource('default', 'nope', r), ErrorKind.NotFound);
      expectKind(() => store.leases.deleteResource('default', 'nope', r), ErrorKind.NotFound);
      expectKind(() => store.leases.listResources('default', 'nope'), ErrorKind.NotFound);
    });

    it.each([
      [{ type: 'content', id: 'not-a-digest' }, ErrorKind.InvalidArgument],
      [{ type: 'content/x', id: digestOf('1') }, ErrorKind.InvalidArgument],
      [{ type: 'ingests/x', id: 'ref' }, ErrorKind.InvalidArgument],
      [{ type: 'snapshots', id: 'k' }, ErrorKind.InvalidArgument],
      [{ type: 'snapshots/a/b', id: 'k' }, ErrorKind.InvalidArgument],
      [{ type: 'ingests', id: '' }, ErrorKind.InvalidArgument],
      [{ type: 'containers', id: 'c' }, ErrorKind.NotImplemented],
    ])('refuses %j with %s', (r, kind) => {
      const store = openStore();
      store.leases.create('default', { id: 'l' });
      expectKind(() => store.leases.addResource('default', 'l', r), kind);
      expect(store.leases.listResources('default', 'l')).toEqual([]);
    });
  });
});
