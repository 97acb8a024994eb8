import { leasesService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { createGrpcClient, ctr, CtrError, ctrTable, hasCtr, startTestEngine, type GrpcClient, type TestEngine } from '../testing';
import { leasesImpl, newLeaseId } from './leases';

let engine: TestEngine;
let client: GrpcClient<(typeof leasesService.Leases)['methods']>;

beforeAll(async () => {
  engine = await startTestEngine((server, ctx) => addService(server, leasesService.Leases, leasesImpl(ctx)));
  client = createGrpcClient(engine.address, leasesService.Leases, { namespace: 'default' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

const COLUMNS = ['ID', 'CREATED AT', 'LABELS'] as const;
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe.skipIf(!hasCtr)('Leases through ctr', () => {
  it('creates with an id, an expiry and labels, lists, and removes', async () => {
    const before = Date.now();
    expect(await ctr(engine.address, '-n', 'lt', 'leases', 'create', '--id', 'l1', '--expires', '1h', 'foo=bar')).toBe('l1\n');
    const [row, ...rest] = ctrTable(await ctr(engine.address, '-n', 'lt', 'leases', 'ls'), COLUMNS);
    expect(rest).toEqual([]);
    expect(row!.ID).toBe('l1');
    // ctr prints CREATED AT in RFC 3339 at second precision, and sets the expiry as a label.
    expect(Math.abs(Date.parse(row!['CREATED AT']) - before)).toBeLessThan(5_000);
    const [expire, foo] = row!.LABELS.split(',');
    expect(foo).toBe('foo=bar');
    const expiry = Date.parse(expire!.replace(/^containerd\.io\/gc\.expire=/, ''));
    expect(Math.abs(expiry - (before + 3_600_000))).toBeLessThan(5_000);

    expect(await ctr(engine.address, '-n', 'lt', 'leases', 'rm', 'l1')).toBe('l1\n');
    expect(ctrTable(await ctr(engine.address, '-n', 'lt', 'leases', 'ls'), COLUMNS)).toEqual([]);
  });

  it('lets the server pick the id when ctr is given none (ctr 1.6 sends an empty id)', async () => {
    const id = (await ctr(engine.address, '-n', 'gen', 'leases', 'create', '--expires', '0')).trim();
    expect(id).toMatch(/^\d{19}-[0-9a-f]{8}$/);
    expect(await ctr(engine.address, '-n', 'gen', 'leases', 'ls', '-q')).toBe(`${id}\n`);
    // `--expires 0`: no expiry label (ctr prints "-" for no labels).
    expect(ctrTable(await ctr(engine.address, '-n', 'gen', 'leases', 'ls'), COLUMNS)[0]!.LABELS).toBe('-');
  });

  it('filters `leases ls` like containerd', async () => {
    for (const id of ['f1', 'f2', 'f3']) await ctr(engine.address, '-n', 'flt', 'leases', 'create', '--id', id, `n=${id}`);
    expect(await ctr(engine.address, '-n', 'flt', 'leases', 'ls', '-q', 'id==f2')).toBe('f2\n');
    expect(await ctr(engine.address, '-n', 'flt', 'leases', 'ls', '-q', 'labels.n~=f[13]')).toBe('f1\nf3\n');
    expect(await ctr(engine.address, '-n', 'flt', 'leases', 'ls', '-q', 'id==f1', 'id==f2')).toBe('f1\nf2\n');
  });

  it('reports AlreadyExists and NotFound with containerd messages, and accepts --sync', async () => {
    await ctr(engine.address, '-n', 'err', 'leases', 'create', '--id', 'dup');
    await expect(ctr(engine.address, '-n', 'err', 'leases', 'create', '--id', 'dup')).rejects.toSatisfy(
      (e) => e instanceof CtrError && e.message === 'ctr: lease "dup": already exists',
    );
    await expect(ctr(engine.address, '-n', 'err', 'leases', 'rm', 'nope')).rejects.toSatisfy(
      (e) => e instanceof CtrError && e.message === 'ctr: lease "nope": not found',
    );
    expect(await ctr(engine.address, '-n', 'err', 'leases', 'rm', '--sync', 'dup')).toBe('dup\n');
  });
});

describe('Leases over gRPC', () => {
  it('creates with a generated id when the request has none, and with created_at set', async () => {
    const before = Date.now();
    const { lease } = await client.create({ labels: { a: 'b' } });
    expect(lease!.id).toMatch(/^\d{19}-[0-9a-f]{8}$/);
    expect(lease!.labels).toEqual({ a: 'b' });
    const created = lease!.createdAt!.seconds * 1000 + lease!.createdAt!.nanos / 1e6;
    expect(created).toBeGreaterThanOrEqual(before - 1);
    expect(created).toBeLessThanOrEqual(Date.now());
    // Unix nanoseconds first, as containerd's ids: the number is close to now.
    expect(Number(lease!.id.split('-')[0]) / 1e6 - before).toBeLessThan(5_000);
    expect((await client.list({ filters: [`id==${lease!.id}`] })).leases).toEqual([lease]);
    await client.delete({ id: lease!.id });
  });

  it('generates distinct ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, newLeaseId));
    expect(ids.size).toBe(1000);
  });

  it('adds, lists and deletes resources', async () => {
    await client.create({ id: 'res' });
    const resources = [
      { type: 'content', id: DIGEST },
      { type: 'ingests', id: 'layer-x' },
      { type: 'snapshots/overlayfs', id: 'extract-1 sha256:x' },
    ];
    for (const resource of resources) await client.addResource({ id: 'res', resource });
    await client.addResource({ id: 'res', resource: resources[0] }); // idempotent
    expect((await client.listResources({ id: 'res' })).resources).toEqual(resources);
    await client.deleteResource({ id: 'res', resource: resources[1] });
    await client.deleteResource({ id: 'res', resource: resources[1] }); // absent is fine
    expect((await client.listResources({ id: 'res' })).resources).toEqual([resources[0], resources[2]]);
    // Leases are per namespace.
    await expect(client.listResources({ id: 'res' }, { namespace: 'other' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    await client.delete({ id: 'res', sync: true });
    await expect(client.listResources({ id: 'res' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it.each([
    ['an unknown lease', 'missing', { type: 'content', id: DIGEST }, ErrorKind.NotFound],
    ['no resource', 'r2', undefined, ErrorKind.InvalidArgument],
    ['a content id that is not a digest', 'r2', { type: 'content', id: 'nope' }, ErrorKind.InvalidArgument],
    ['snapshots without a snapshotter', 'r2', { type: 'snapshots', id: 'k' }, ErrorKind.InvalidArgument],
    ['an unknown resource type', 'r2', { type: 'volumes', id: 'v' }, ErrorKind.NotImplemented],
  ])('AddResource with %s is %s', async (_what, id, resource, kind) => {
    await client.create({ id: 'r2' }).catch(() => undefined);
    await expect(client.addResource({ id, resource })).rejects.toSatisfy((e) => kindOf(e) === kind);
  });

  it('requires the namespace header', async () => {
    await expect(client.list({}, { namespace: null })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.FailedPrecondition && (e as Error).message === 'namespace is required',
    );
    await expect(client.create({ id: 'x' }, { namespace: null })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
  });

  it('validates labels (InvalidArgument)', async () => {
    await expect(client.create({ id: 'big', labels: { k: 'v'.repeat(5000) } })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });
});
