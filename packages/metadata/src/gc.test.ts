import { describe, expect, it } from 'vitest';
import { parseExpiry } from './gc';
import { container, digestOf, image, openStore } from './test/helpers';
import type { GcNode, MetadataStore } from './types';

const content = (namespace: string, c: string): GcNode => ({ type: 'content', namespace, digest: digestOf(c) });
const snapshot = (namespace: string, snapshotter: string, key: string): GcNode => ({
  type: 'snapshot',
  namespace,
  snapshotter,
  key,
});

/** What a pull leaves behind: index → manifest → config + layer, config → unpacked chain. */
function pulled(store: MetadataStore, ns: string) {
  store.content.add(ns, digestOf('1'), { 'containerd.io/gc.ref.content.m.0': digestOf('2') });
  store.content.add(ns, digestOf('2'), {
    'containerd.io/gc.ref.content.config': digestOf('3'),
    'containerd.io/gc.ref.content.l.0': digestOf('4'),
  });
  store.content.add(ns, digestOf('3'), { 'containerd.io/gc.ref.snapshot.overlayfs': 'sha256:chain' });
  store.content.add(ns, digestOf('4'), { 'containerd.io/uncompressed': digestOf('5') });
  store.snapshots.add(ns, 'overlayfs', 'sha256:chain');
  store.images.create(ns, image('busybox', { target: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digestOf('1'), size: 10 } }));
}

/** Marks from the roots through `references`, as the engine's collector will. */
function mark(store: MetadataStore, now?: Date): Set<string> {
  const seen = new Set<string>();
  const key = (n: GcNode) => JSON.stringify(n);
  const visit = (n: GcNode, follow: boolean) => {
    if (seen.has(key(n)) && follow) return;
    seen.add(key(n));
    if (follow) for (const m of store.references(n)) visit(m, true);
  };
  for (const ns of store.gcRoots(now ? { now } : {})) for (const r of ns.roots) visit(r.node, !r.flat);
  return seen;
}

describe('gc roots and references', () => {
  it('an image holds its target, and references reach the whole pulled image', () => {
    const store = openStore();
    pulled(store, 'default');
    const [ns] = store.gcRoots();
    expect(ns!.namespace).toBe('default');
    expect(ns!.roots).toEqual([{ node: content('default', '1'), holder: { type: 'image', name: 'busybox' } }]);
    expect(store.references(content('default', '1'))).toEqual([content('default', '2')]);
    expect(store.references(content('default', '2'))).toEqual([content('default', '3'), content('default', '4')]);
    expect(store.references(content('default', '3'))).toEqual([snapshot('default', 'overlayfs', 'sha256:chain')]);
    expect(store.references(content('default', '4'))).toEqual([]);
    expect(store.references(snapshot('default', 'overlayfs', 'sha256:chain'))).toEqual([]);
    expect(mark(store).size).toBe(5);
  });

  it('reads every containerd reference label form, skipping values that name nothing', () => {
    const store = openStore();
    store.content.add('default', digestOf('a'), {
      'containerd.io/gc.ref.content': digestOf('1'),
      'containerd.io/gc.ref.content.x': digestOf('2'),
      'containerd.io/gc.ref.content/named': digestOf('3'),
      'containerd.io/gc.ref.contentious': digestOf('4'),
      'containerd.io/gc.ref.content.bad': 'not-a-digest',
      'containerd.io/gc.ref.snapshot.overlayfs': 'k1',
      'containerd.io/gc.ref.snapshot.native/second': 'k2',
    });
    expect(store.references(content('default', 'a'))).toEqual([
      content('default', '1'),
      content('default', '2'),
      content('default', '3'),
      snapshot('default', 'native', 'k2'),
      snapshot('default', 'overlayfs', 'k1'),
    ]);
    store.snapshots.add('default', 'overlayfs', 'k1', { 'containerd.io/gc.ref.content.l': digestOf('9') });
    expect(store.references(snapshot('default', 'overlayfs', 'k1'))).toEqual([content('default', '9')]);
  });

  it('references are per namespace; a node without a record (dead edge) or an ingest has none', () => {
    const store = openStore();
    pulled(store, 'a');
    expect(store.references(content('b', '1'))).toEqual([]);
    expect(store.references(snapshot('a', 'overlayfs', 'nope'))).toEqual([]);
    expect(store.references({ type: 'ingest', namespace: 'a', ref: 'x' })).toEqual([]);
  });

  it('a container holds its snapshot and its label references, not its image', () => {
    const store = openStore();
    store.containers.create('default', container('c1', { labels: { 'containerd.io/gc.ref.content.spec': digestOf('7') } }));
    store.containers.create('default', container('c2', { snapshotter: '', snapshotKey: '' }));
    expect(store.gcRoots()[0]!.roots).toEqual([
      { node: snapshot('default', 'overlayfs', 'c1'), holder: { type: 'container', id: 'c1' } },
      { node: content('default', '7'), holder: { type: 'container', id: 'c1' } },
    ]);
  });

  it('a lease holds its resources until it expires; every lease is reported with its expiry', () => {
    const store = openStore();
    const now = new Date('2025-06-01T12:00:00Z');
    store.leases.create('default', { id: 'live', labels: { 'containerd.io/gc.expire': '2025-06-02T12:00:00Z' } });
    store.leases.create('default', { id: 'dead', labels: { 'containerd.io/gc.expire': '2025-06-01T11:59:59.999999999Z' } });
    store.leases.create('default', { id: 'odd', labels: { 'containerd.io/gc.expire': 'tomorrow' } });
    store.leases.create('default', { id: 'flat', labels: { 'containerd.io/gc.flat': 'true' } });
    store.leases.addResource('default', 'live', { type: 'content', id: digestOf('1') });
    store.leases.addResource('default', 'live', { type: 'ingests', id: 'layer-x' });
    store.leases.addResource('default', 'live', { type: 'snapshots/overlayfs', id: 'extract-1 chain' });
    store.leases.addResource('default', 'dead', { type: 'content', id: digestOf('2') });
    store.leases.addResource('default', 'odd', { type: 'content', id: digestOf('3') });
    store.leases.addResource('default', 'flat', { type: 'content', id: digestOf('4') });

    const [ns] = store.gcRoots({ now });
    expect(ns!.leases.map((l) => [l.id, l.expired, l.expiresAt?.toISOString(), l.flat])).toEqual([
      ['dead', true, '2025-06-01T11:59:59.999Z', false],
      ['flat', false, undefined, true],
      ['live', false, '2025-06-02T12:00:00.000Z', false],
      ['odd', false, undefined, false],
    ]);
    expect(ns!.leases.find((l) => l.id === 'dead')!.resources).toEqual([{ type: 'content', id: digestOf('2') }]);
    expect(ns!.roots).toEqual([
      { node: content('default', '4'), holder: { type: 'lease', id: 'flat' }, flat: true },
      { node: content('default', '1'), holder: { type: 'lease', id: 'live' } },
      { node: { type: 'ingest', namespace: 'default', ref: 'layer-x' }, holder: { type: 'lease', id: 'live' } },
      { node: snapshot('default', 'overlayfs', 'extract-1 chain'), holder: { type: 'lease', id: 'live' } },
      { node: content('default', '3'), holder: { type: 'lease', id: 'odd' } },
    ]);
    // Later, `live` has expired too.
    const later = store.gcRoots({ now: new Date('2025-06-03T00:00:00Z') })[0]!;
    expect(later.roots.map((r) => (r.holder as { id: string }).id)).toEqual(['flat', 'odd']);
  });

  it('a flat lease keeps its resources but not what they reference', () => {
    const store = openStore();
    pulled(store, 'default');
    store.images.delete('default', 'busybox');
    store.leases.create('default', { id: 'flat', labels: { 'containerd.io/gc.flat': 'true' } });
    store.leases.addResource('default', 'flat', { type: 'content', id: digestOf('1') });
    expect([...mark(store)]).toEqual([JSON.stringify(content('default', '1'))]);
  });

  it('content and snapshots carrying containerd.io/gc.root are roots', () => {
    const store = openStore();
    store.content.add('default', digestOf('1'), { 'containerd.io/gc.root': '2025-01-01T00:00:00Z' });
    store.content.add('default', digestOf('2'));
    store.snapshots.add('default', 'overlayfs', 'pinned', { 'containerd.io/gc.root': 'x' });
    store.snapshots.add('default', 'overlayfs', 'loose');
    expect(store.gcRoots()[0]!.roots).toEqual([
      { node: content('default', '1'), holder: { type: 'label' } },
      { node: snapshot('default', 'overlayfs', 'pinned'), holder: { type: 'label' } },
    ]);
  });

  it('gives one entry per namespace, each with its own roots', () => {
    const store = openStore();
    pulled(store, 'a');
    store.namespaces.create('empty');
    store.leases.create('b', { id: 'l' });
    store.leases.addResource('b', 'l', { type: 'content', id: digestOf('1') });
    const roots = store.gcRoots();
    expect(roots.map((r) => [r.namespace, r.roots.length, r.leases.length])).toEqual([
      ['a', 1, 0],
      ['b', 1, 1],
      ['empty', 0, 0],
    ]);
    expect(roots[1]!.roots[0]!.node).toEqual(content('b', '1'));
  });

  it('after the image is deleted nothing of it is marked; its records are what the sweep removes', () => {
    const store = openStore();
    pulled(store, 'default');
    store.images.delete('default', 'busybox');
    expect(mark(store).size).toBe(0);
    expect(store.content.list('default')).toHaveLength(4);
  });
});

describe('parseExpiry (containerd.io/gc.expire)', () => {
  it.each([
    ['2025-06-01T12:00:00Z', '2025-06-01T12:00:00.000Z'],
    ['2025-06-01T12:00:00.5Z', '2025-06-01T12:00:00.500Z'],
    ['2025-06-01T14:00:00+02:00', '2025-06-01T12:00:00.000Z'],
    ['2025-06-01T12:00:00.123456789-01:30', '2025-06-01T13:30:00.123Z'],
  ])('%s → %s', (value, iso) => {
    expect(parseExpiry(value)?.toISOString()).toBe(iso);
  });

  it.each(['', 'tomorrow', '2025-06-01', '2025-06-01 12:00:00Z', '2025-06-01T12:00:00', '2025-13-01T12:00:00Z'])(
    'refuses %j',
    (value) => {
      expect(parseExpiry(value)).toBeUndefined();
    },
  );
});
