import { leasesService, snapshotsService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { rejectionKind, createGrpcClient, ctr, CtrError, ctrTable, hasCtr, runCtr, startTestEngine, type GrpcClient, type TestEngine } from '../testing';
import { leasesImpl } from './leases';
import { backendKey, snapshotsImpl } from './snapshots';

const isRoot = process.getuid?.() === 0;

let engine: TestEngine;
let client: GrpcClient<(typeof snapshotsService.Snapshots)['methods']>;

beforeAll(async () => {
  engine = await startTestEngine((server, ctx) => {
    addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx));
    addService(server, leasesService.Leases, leasesImpl(ctx));
  });
  client = createGrpcClient(engine.address, snapshotsService.Snapshots, { namespace: 'grpc' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

const LS = ['KEY', 'PARENT', 'KIND'] as const;


function gcRoot(info: Record<string, unknown>): string {
  return (info.Labels as Record<string, string>)['containerd.io/gc.root']!;
}

async function list(ns: string, filters: string[] = [], snapshotter = 'overlayfs'): Promise<snapshotsService.Info[]> {
  const out: snapshotsService.Info[] = [];
  for await (const batch of client.list({ snapshotter, filters }, { namespace: ns })) out.push(...batch.info);
  return out;
}

describe.skipIf(!hasCtr || !isRoot)('Snapshots through ctr', () => {
  it('prepares, mounts, commits, stacks, lists, labels and removes', async () => {
    const a = engine.address;
    await ctr(a, 'snapshots', 'prepare', 'a');
    // `mounts` prints a mount(8) command; with no parent overlayfs gives a bind mount.
    expect(await ctr(a, 'snapshots', 'mounts', '/tmp/x', 'a')).toMatch(/^mount -t bind \S+\/fs \/tmp\/x -o rw,rbind\n$/);
    await ctr(a, 'snapshots', 'commit', 'c', 'a');
    await ctr(a, 'snapshots', 'prepare', 'b', 'c');
    expect(await ctr(a, 'snapshots', 'mounts', '/tmp/x', 'b')).toMatch(/^mount -t overlay overlay \/tmp\/x -o .*upperdir=.*lowerdir=\S+\n$/);

    const rows = ctrTable(await ctr(a, 'snapshots', 'ls'), LS);
    expect(rows).toEqual([
      { KEY: 'b', PARENT: 'c', KIND: 'Active' },
      { KEY: 'c', PARENT: '', KIND: 'Committed' },
    ]);

    const info = JSON.parse(await ctr(a, 'snapshots', 'info', 'b')) as Record<string, unknown>;
    expect(info).toMatchObject({ Kind: 'Active', Name: 'b', Parent: 'c' });
    expect(Math.abs(Date.parse(info.Created as string) - Date.now())).toBeLessThan(60_000);

    // ctr's `snapshots prepare` pins what it makes with `containerd.io/gc.root=<RFC 3339 now>`.
    expect(info.Labels).toEqual({ 'containerd.io/gc.root': expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    // `label` prints every label of the snapshot afterwards, comma-joined (in Go map order).
    expect((await ctr(a, 'snapshots', 'label', 'b', 'k=v')).trim().split(',').sort()).toEqual([`containerd.io/gc.root=${gcRoot(info)}`, 'k=v']);
    expect(JSON.parse(await ctr(a, 'snapshots', 'info', 'b'))).toMatchObject({ Labels: { k: 'v' } });
    expect(await ctr(a, 'snapshots', 'label', 'b', 'k=')).toBe(`containerd.io/gc.root=${gcRoot(info)}\n`); // '' deletes
    expect(JSON.parse(await ctr(a, 'snapshots', 'info', 'b')).Labels).toEqual(info.Labels);

    const usage = ctrTable(await ctr(a, 'snapshots', 'usage'), ['KEY', 'SIZE', 'INODES'] as const);
    expect(usage.map((r) => r.KEY).sort()).toEqual(['b', 'c']);
    expect(usage.every((r) => Number(r.INODES) >= 1)).toBe(true);

    const rmParent = await runCtr(a, ['snapshots', 'rm', 'c']);
    expect(rmParent.code).not.toBe(0);
    expect(rmParent.stderr).toMatch(/snapshot "c": has children \(such as "b"\)/);
    expect(rmParent.stderr).not.toContain('default/');

    await ctr(a, 'snapshots', 'rm', 'b');
    await ctr(a, 'snapshots', 'rm', 'c');
    expect(ctrTable(await ctr(a, 'snapshots', 'ls'), LS)).toEqual([]);
  });

  it('keeps namespaces apart: same keys, separate lists, no cross-namespace parents', async () => {
    const a = engine.address;
    await ctr(a, '-n', 'ns1', 'snapshots', 'prepare', 'x');
    await ctr(a, '-n', 'ns1', 'snapshots', 'commit', 'base', 'x');
    expect(ctrTable(await ctr(a, '-n', 'ns2', 'snapshots', 'ls'), LS)).toEqual([]);
    // ns2 may use the same key, and cannot see ns1's committed snapshot as a parent.
    await ctr(a, '-n', 'ns2', 'snapshots', 'prepare', 'x');
    await expect(ctr(a, '-n', 'ns2', 'snapshots', 'prepare', 'y', 'base')).rejects.toThrow(/parent "base": not found/);
    await expect(ctr(a, '-n', 'ns2', 'snapshots', 'info', 'base')).rejects.toThrow(/not found/);
    await expect(ctr(a, '-n', 'ns2', 'snapshots', 'rm', 'base')).rejects.toThrow(/not found/);
    expect(ctrTable(await ctr(a, '-n', 'ns1', 'snapshots', 'ls'), LS)).toEqual([{ KEY: 'base', PARENT: '', KIND: 'Committed' }]);
    expect(ctrTable(await ctr(a, '-n', 'ns2', 'snapshots', 'ls'), LS)).toEqual([{ KEY: 'x', PARENT: '', KIND: 'Active' }]);
    // The backend holds them under <ns>/<key>.
    const backend = await engine.ctx.snapshotter('overlayfs');
    expect((await backend.stat(backendKey('ns1', 'base'))).kind).toBe('committed');
    expect((await backend.stat(backendKey('ns2', 'x'))).kind).toBe('active');
  });

  it('serves the native snapshotter and refuses an unknown one', async () => {
    const a = engine.address;
    await ctr(a, '-n', 'nat', 'snapshots', '--snapshotter', 'native', 'prepare', 'n1');
    expect(await ctr(a, '-n', 'nat', 'snapshots', '--snapshotter', 'native', 'mounts', '/tmp/x', 'n1')).toMatch(/^mount -t bind \S+ \/tmp\/x -o rw,rbind\n$/);
    expect(ctrTable(await ctr(a, '-n', 'nat', 'snapshots', '--snapshotter', 'native', 'ls'), LS)).toEqual([{ KEY: 'n1', PARENT: '', KIND: 'Active' }]);
    // …and only there: overlayfs has nothing in that namespace.
    expect(ctrTable(await ctr(a, '-n', 'nat', 'snapshots', 'ls'), LS)).toEqual([]);
    await expect(ctr(a, '-n', 'nat', 'snapshots', '--snapshotter', 'zfs', 'prepare', 'z')).rejects.toSatisfy(
      (e) => e instanceof CtrError && /snapshotter not loaded: zfs/.test(e.message),
    );
  });

  it('mounts a view read-only', async () => {
    const a = engine.address;
    await ctr(a, '-n', 'views', 'snapshots', 'prepare', 'w');
    await ctr(a, '-n', 'views', 'snapshots', 'commit', 'layer', 'w');
    const out = await ctr(a, '-n', 'views', 'snapshots', 'view', 'v', 'layer');
    expect(out).toBe(''); // ctr prints mounts only with --mounts
    const mounts = await ctr(a, '-n', 'views', 'snapshots', 'mounts', '/tmp/x', 'v');
    expect(mounts).toMatch(/ -o (\S+,)?ro(,\S+)?\n$/);
    expect(ctrTable(await ctr(a, '-n', 'views', 'snapshots', 'ls'), LS)).toContainEqual({ KEY: 'v', PARENT: 'layer', KIND: 'View' });
  });
});

describe.skipIf(!isRoot)('Snapshots over gRPC', () => {
  it('answers with containerd error kinds', async () => {
    const sn = 'overlayfs';
    await client.prepare({ snapshotter: sn, key: 'e1' });
    expect(await rejectionKind(client.prepare({ snapshotter: sn, key: 'e1' }))).toBe(ErrorKind.AlreadyExists);
    expect(await rejectionKind(client.prepare({ snapshotter: sn, key: 'e2', parent: 'nope' }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(client.prepare({ snapshotter: sn, key: 'e2', parent: 'e1' }))).toBe(ErrorKind.InvalidArgument); // parent not committed
    expect(await rejectionKind(client.prepare({ snapshotter: sn, key: '' }))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.prepare({ snapshotter: '', key: 'e3' }))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.stat({ snapshotter: sn, key: 'nope' }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(client.mounts({ snapshotter: sn, key: 'nope' }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(client.remove({ snapshotter: sn, key: 'nope' }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(client.usage({ snapshotter: sn, key: 'nope' }))).toBe(ErrorKind.NotFound);
    expect(await rejectionKind(client.prepare({ snapshotter: sn, key: 'e3' }, { namespace: null }))).toBe(ErrorKind.FailedPrecondition);

    await client.commit({ snapshotter: sn, name: 'e1c', key: 'e1' });
    expect(await rejectionKind(client.stat({ snapshotter: sn, key: 'e1' }))).toBe(ErrorKind.NotFound); // the key is gone
    await client.prepare({ snapshotter: sn, key: 'e4' });
    expect(await rejectionKind(client.commit({ snapshotter: sn, name: 'e1c', key: 'e4' }))).toBe(ErrorKind.AlreadyExists);
    expect((await client.stat({ snapshotter: sn, key: 'e4' })).info?.kind).toBe(snapshotsService.Kind.ACTIVE); // still there
    await client.view({ snapshotter: sn, key: 'e5', parent: 'e1c' });
    expect(await rejectionKind(client.commit({ snapshotter: sn, name: 'e5c', key: 'e5' }))).toBe(ErrorKind.FailedPrecondition); // a view
    expect(await rejectionKind(client.stat({ snapshotter: sn, key: 'e5c' }))).toBe(ErrorKind.NotFound); // nothing left behind
    expect(await rejectionKind(client.remove({ snapshotter: sn, key: 'e1c' }))).toBe(ErrorKind.FailedPrecondition); // has a child
    // A failed prepare leaves no record: the key can be prepared afterwards.
    await client.prepare({ snapshotter: sn, key: 'e2', parent: 'e1c' });
    expect(await rejectionKind(client.cleanup({ snapshotter: 'zfs' }))).toBe(ErrorKind.InvalidArgument);
    await client.cleanup({ snapshotter: sn });
  });

  it('lists with containerd filters, in batches', async () => {
    const ns = 'filters';
    const sn = 'native';
    await client.prepare({ snapshotter: sn, key: 'root', labels: { tier: 'base' } }, { namespace: ns });
    await client.commit({ snapshotter: sn, name: 'root-c', key: 'root', labels: { tier: 'base' } }, { namespace: ns });
    for (let i = 0; i < 120; i++) await client.prepare({ snapshotter: sn, key: `k${i}`, parent: 'root-c', labels: { i: String(i) } }, { namespace: ns });
    const all = await list(ns, [], sn);
    expect(all).toHaveLength(121);
    const batches: number[] = [];
    for await (const b of client.list({ snapshotter: sn }, { namespace: ns })) batches.push(b.info.length);
    expect(batches).toEqual([100, 21]);
    expect((await list(ns, ['kind==committed'], sn)).map((i) => i.name)).toEqual(['root-c']);
    expect((await list(ns, ['name==k7'], sn)).map((i) => i.name)).toEqual(['k7']);
    expect((await list(ns, ['labels.i~=^11[0-9]$,kind==active'], sn)).map((i) => i.name)).toHaveLength(10);
    expect((await list(ns, ['labels.tier==base', 'name==k1'], sn)).map((i) => i.name).sort()).toEqual(['k1', 'root-c']);
    expect((await list(ns, ['parent==root-c'], sn))).toHaveLength(120);
    expect(await rejectionKind(list(ns, ['(('], sn))).toBe(ErrorKind.InvalidArgument);
    // The commit's labels are the committed snapshot's; the active key's are not inherited.
    const c = (await client.stat({ snapshotter: sn, key: 'root-c' }, { namespace: ns })).info!;
    expect(c).toMatchObject({ name: 'root-c', parent: '', kind: snapshotsService.Kind.COMMITTED, labels: { tier: 'base' } });
  });

  it('updates labels with a field mask', async () => {
    const sn = 'overlayfs';
    await client.prepare({ snapshotter: sn, key: 'u1', labels: { a: '1', b: '2' } });
    const before = (await client.stat({ snapshotter: sn, key: 'u1' })).info!;
    let info = (await client.update({ snapshotter: sn, info: { name: 'u1', labels: { a: '', c: '3' } }, updateMask: { paths: ['labels.a', 'labels.c'] } })).info!;
    expect(info.labels).toEqual({ b: '2', c: '3' });
    expect(info.createdAt).toEqual(before.createdAt);
    info = (await client.update({ snapshotter: sn, info: { name: 'u1', labels: { z: '9' } } })).info!; // no mask: replace all
    expect(info.labels).toEqual({ z: '9' });
    expect((await client.stat({ snapshotter: sn, key: 'u1' })).info!.labels).toEqual({ z: '9' });
    expect(await rejectionKind(client.update({ snapshotter: sn, info: { name: 'u1', parent: 'x' }, updateMask: { paths: ['parent'] } }))).toBe(
      ErrorKind.InvalidArgument,
    );
    expect(await rejectionKind(client.update({ snapshotter: sn, info: { name: 'nope' }, updateMask: { paths: ['labels.a'] } }))).toBe(ErrorKind.NotFound);
  });

  it('adds what Prepare, View and Commit create to the call lease', async () => {
    const ns = 'leased';
    const sn = 'overlayfs';
    const leases = createGrpcClient(engine.address, leasesService.Leases, { namespace: ns });
    try {
      await leases.create({ id: 'l1' });
      await client.prepare({ snapshotter: sn, key: 'p' }, { namespace: ns, lease: 'l1' });
      await client.commit({ snapshotter: sn, name: 'pc', key: 'p' }, { namespace: ns, lease: 'l1' });
      await client.view({ snapshotter: sn, key: 'v', parent: 'pc' }, { namespace: ns, lease: 'l1' });
      await client.prepare({ snapshotter: sn, key: 'free' }, { namespace: ns });
      const { resources } = await leases.listResources({ id: 'l1' });
      expect(resources).toEqual([
        { id: 'pc', type: 'snapshots/overlayfs' },
        { id: 'v', type: 'snapshots/overlayfs' },
      ]);
      // An unknown lease fails the call and leaves nothing behind.
      expect(await rejectionKind(client.prepare({ snapshotter: sn, key: 'q' }, { namespace: ns, lease: 'nope' }))).toBe(ErrorKind.NotFound);
      expect(await rejectionKind(client.stat({ snapshotter: sn, key: 'q' }, { namespace: ns }))).toBe(ErrorKind.NotFound);
      await client.prepare({ snapshotter: sn, key: 'q' }, { namespace: ns });
    } finally {
      leases.close();
    }
  });
});
