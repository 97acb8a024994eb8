import { leasesService, namespacesService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { createGrpcClient, ctr, CtrError, ctrTable, hasCtr, runCtr, startTestEngine, type GrpcClient, type TestEngine } from '../testing';
import { leasesImpl } from './leases';
import { namespacesImpl } from './namespaces';

let engine: TestEngine;
let client: GrpcClient<(typeof namespacesService.Namespaces)['methods']>;

beforeAll(async () => {
  engine = await startTestEngine((server, ctx) => {
    addService(server, namespacesService.Namespaces, namespacesImpl(ctx));
    addService(server, leasesService.Leases, leasesImpl(ctx));
  });
  client = createGrpcClient(engine.address, namespacesService.Namespaces);
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

const nsTable = async () => ctrTable(await ctr(engine.address, 'namespaces', 'ls'), ['NAME', 'LABELS']);

describe.skipIf(!hasCtr)('Namespaces through ctr', () => {
  it('creates with labels and lists NAME LABELS', async () => {
    expect(await ctr(engine.address, 'namespaces', 'create', 'a', 'label=x')).toBe('');
    expect(await nsTable()).toContainEqual({ NAME: 'a', LABELS: 'label=x' });
    await expect(ctr(engine.address, 'namespaces', 'create', 'a')).rejects.toSatisfy(
      (e) => e instanceof CtrError && e.result.code === 1 && /namespace "a": already exists/.test(e.message),
    );
  });

  it('sets and clears labels with `namespaces label` (update mask labels.<key>)', async () => {
    await ctr(engine.address, 'namespaces', 'create', 'b');
    await ctr(engine.address, 'namespaces', 'label', 'b', 'k=v', 'z=1');
    expect(await nsTable()).toContainEqual({ NAME: 'b', LABELS: 'k=v,z=1' });
    // An empty value clears the label; the others stay.
    await ctr(engine.address, 'namespaces', 'label', 'b', 'k=');
    expect(await nsTable()).toContainEqual({ NAME: 'b', LABELS: 'z=1' });
    expect((await client.get({ name: 'b' })).namespace).toEqual({ name: 'b', labels: { z: '1' } });
  });

  it('labels a namespace that does not exist yet by creating it, as containerd does', async () => {
    await ctr(engine.address, 'namespaces', 'label', 'implicit', 'k=v');
    expect(await nsTable()).toContainEqual({ NAME: 'implicit', LABELS: 'k=v' });
  });

  it('refuses to remove a namespace that still owns something, with containerd message', async () => {
    await ctr(engine.address, 'namespaces', 'create', 'busy');
    await ctr(engine.address, '-n', 'busy', 'leases', 'create', '--id', 'hold');
    const rm = await runCtr(engine.address, ['namespaces', 'rm', 'busy']);
    expect(rm.code).toBe(1);
    // ctr logs the error, then exits with it; the client appends the gRPC class (": failed precondition").
    expect(rm.stderr).toMatch(/ctr: unable to delete busy: namespace "busy" must be empty, but it still has leases: failed precondition/);
    expect(rm.stdout).toBe('');

    await ctr(engine.address, '-n', 'busy', 'leases', 'rm', 'hold');
    expect(await ctr(engine.address, 'namespaces', 'rm', 'busy')).toBe('busy\n');
    expect((await nsTable()).map((r) => r.NAME)).not.toContain('busy');
  });

  it('prints the name of a namespace that does not exist on `rm` (ctr tolerates NotFound)', async () => {
    expect(await ctr(engine.address, 'namespaces', 'rm', 'never-was')).toBe('never-was\n');
  });

  it('creates a namespace implicitly on the first write into it (`ctr -n`)', async () => {
    await ctr(engine.address, '-n', 'fresh', 'leases', 'create', '--id', 'l');
    expect((await nsTable()).map((r) => r.NAME)).toContain('fresh');
  });
});

describe('Namespaces over gRPC', () => {
  it('answers Get of an unknown namespace with empty labels, not NotFound (clients read the default snapshotter label)', async () => {
    expect((await client.get({ name: 'nowhere' })).namespace).toEqual({ name: 'nowhere', labels: {} });
  });

  it('Create is AlreadyExists for an existing name, InvalidArgument for a bad one', async () => {
    expect((await client.create({ namespace: { name: 'g1', labels: { a: '1' } } })).namespace).toEqual({ name: 'g1', labels: { a: '1' } });
    await expect(client.create({ namespace: { name: 'g1' } })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.AlreadyExists);
    await expect(client.create({ namespace: { name: 'bad/name' } })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
    await expect(client.create({})).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
  });

  it('Update without a mask replaces the labels; with one, only the named ones; unknown paths are InvalidArgument', async () => {
    await client.create({ namespace: { name: 'g2', labels: { a: '1', b: '2' } } });
    await client.update({ namespace: { name: 'g2', labels: { c: '3' } } });
    expect((await client.get({ name: 'g2' })).namespace?.labels).toEqual({ c: '3' });
    const res = await client.update({ namespace: { name: 'g2', labels: { d: '4', c: 'ignored' } }, updateMask: { paths: ['labels.d'] } });
    expect(res.namespace?.labels).toEqual({ c: '3', d: '4' });
    await expect(client.update({ namespace: { name: 'g2' }, updateMask: { paths: ['name'] } })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.InvalidArgument,
    );
  });

  it('List applies its single filter string', async () => {
    await client.create({ namespace: { name: 'f1', labels: { team: 'x' } } });
    await client.create({ namespace: { name: 'f2', labels: { team: 'y' } } });
    const names = async (filter: string) => (await client.list({ filter })).namespaces.map((n) => n.name);
    expect(await names('labels.team==x')).toEqual(['f1']);
    expect(await names('name~=^f[12]$')).toEqual(['f1', 'f2']);
    expect(await names('')).toEqual(expect.arrayContaining(['f1', 'f2', 'g1']));
  });

  it('Delete is NotFound when absent and FailedPrecondition while not empty', async () => {
    await expect(client.delete({ name: 'gone' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    engine.ctx.metadata.leases.create('g3', { id: 'x' });
    await expect(client.delete({ name: 'g3' })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.FailedPrecondition && /namespace "g3" must be empty, but it still has leases/.test((e as Error).message),
    );
    engine.ctx.metadata.leases.delete('g3', 'x');
    await client.delete({ name: 'g3' });
    await expect(client.delete({ name: 'g3' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it('does not need the namespace header (the service is not namespaced)', async () => {
    await expect(client.list({}, { namespace: null })).resolves.toBeDefined();
  });
});
