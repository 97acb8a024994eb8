import { containersService, runcOptions, type MessageInit } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { createGrpcClient, ctr, CtrError, ctrTable, hasCtr, startTestEngine, type GrpcClient, type TestEngine } from '../testing';
import { containersImpl } from './containers';

type Container = containersService.Container;

let engine: TestEngine;
let client: GrpcClient<(typeof containersService.Containers)['methods']>;

beforeAll(async () => {
  engine = await startTestEngine((server, ctx) => addService(server, containersService.Containers, containersImpl(ctx)));
  client = createGrpcClient(engine.address, containersService.Containers, { namespace: 'default' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

const SPEC_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
const spec = (args: string[] = ['sh']) => ({
  typeUrl: SPEC_URL,
  value: new TextEncoder().encode(JSON.stringify({ ociVersion: '1.0.2-dev', process: { args, cwd: '/' }, root: { path: 'rootfs' } })),
});
/** Go's zero time, which containerd's clients always send for the non-nullable timestamps. */
const ZERO_TIME = { seconds: -62135596800, nanos: 0 };

/** A container as `ctr run` would create it (times zero, runc options set). */
function wire(id: string, over: MessageInit<Container> = {}): MessageInit<Container> {
  return {
    id,
    labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM' },
    image: 'docker.io/library/busybox:latest',
    runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: runcOptions.Options.encode({ binaryName: 'crun' }) } },
    spec: spec(),
    snapshotter: 'overlayfs',
    snapshotKey: id,
    createdAt: ZERO_TIME,
    updatedAt: ZERO_TIME,
    ...over,
  };
}

const ms = (t: { seconds: number; nanos: number } | undefined) => t!.seconds * 1000 + t!.nanos / 1e6;
const kind = (k: ErrorKind) => (e: unknown) => kindOf(e) === k;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('Containers.Create and the cgroup attach primer', () => {
  it('primes once per created container, and not for a refused one', async () => {
    let primes = 0;
    const primer = { prime: async () => void primes++ };
    const own = await startTestEngine((server, ctx) => addService(server, containersService.Containers, containersImpl(ctx, { cgroupAttachPrimer: primer })));
    const c = createGrpcClient(own.address, containersService.Containers, { namespace: 'default' });
    try {
      await c.create({ container: wire('primed') });
      expect(primes).toBe(1);
      await expect(c.create({ container: wire('primed') })).rejects.toSatisfy(kind(ErrorKind.AlreadyExists));
      await c.get({ id: 'primed' });
      expect(primes).toBe(1);
    } finally {
      c.close();
      await own.stop();
    }
  });
});

describe('Containers over gRPC', () => {
  it('creates and gets a container, keeping every field and setting the times', async () => {
    const before = Date.now();
    const ext = { typeUrl: 'berth.test/Ext', value: new Uint8Array([1, 2, 3]) };
    const { container } = await client.create({ container: wire('c1', { extensions: { ext } }) });
    expect(container).toMatchObject({
      id: 'c1',
      labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM' },
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options' } },
      spec: { typeUrl: SPEC_URL },
      snapshotter: 'overlayfs',
      snapshotKey: 'c1',
      extensions: { ext: { typeUrl: 'berth.test/Ext', value: new Uint8Array([1, 2, 3]) } },
    });
    expect(runcOptions.Options.decode(container!.runtime!.options!.value).binaryName).toBe('crun');
    expect(JSON.parse(new TextDecoder().decode(container!.spec!.value)).process.args).toEqual(['sh']);
    // The zero times sent are ignored: the server sets both, equal, to now.
    expect(ms(container!.createdAt)).toBeGreaterThanOrEqual(before - 1);
    expect(ms(container!.createdAt)).toBeLessThanOrEqual(Date.now());
    expect(container!.updatedAt).toEqual(container!.createdAt);

    expect((await client.get({ id: 'c1' })).container).toEqual(container);
  });

  it('is AlreadyExists for a taken id and NotFound for an unknown one, with containerd messages', async () => {
    await client.create({ container: wire('dup') });
    await expect(client.create({ container: wire('dup') })).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.AlreadyExists && (e as Error).message === 'container "dup": already exists',
    );
    await expect(client.get({ id: 'nope' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound && (e as Error).message === 'container "nope": not found');
    await expect(client.delete({ id: 'nope' })).rejects.toSatisfy(kind(ErrorKind.NotFound));
    await expect(client.update({ container: wire('nope') })).rejects.toSatisfy(kind(ErrorKind.NotFound));
  });

  it.each([
    ['no container', undefined],
    ['a malformed id', wire('bad/id')],
    ['no runtime name', wire('v1', { runtime: { name: '' } })],
    ['no runtime', wire('v2', { runtime: undefined })],
    ['no spec', wire('v3', { spec: undefined })],
    ['a snapshot key without a snapshotter', wire('v4', { snapshotter: '' })],
    ['a label too long', wire('v5', { labels: { k: 'x'.repeat(5000) } })],
  ])('refuses to create with %s (InvalidArgument)', async (_what, container) => {
    await expect(client.create({ container })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
  });

  it('lists with containerd filters, and ListStream sends one container per message', async () => {
    const ns = { namespace: 'listing' };
    await client.create({ container: wire('a1', { labels: { app: 'web', tier: 'front' }, image: 'nginx' }) }, ns);
    await client.create({ container: wire('a2', { labels: { app: 'db' }, image: 'postgres', runtime: { name: 'io.containerd.runsc.v1' } }) }, ns);
    await client.create({ container: wire('a3', { labels: { app: 'web' }, image: 'nginx', snapshotter: 'native' }) }, ns);
    const ids = async (...filters: string[]) => (await client.list({ filters }, ns)).containers.map((c) => c.id);
    expect(await ids()).toEqual(['a1', 'a2', 'a3']);
    expect(await ids('labels.app==web')).toEqual(['a1', 'a3']);
    expect(await ids('labels.app==web,image==nginx,snapshotter==overlayfs')).toEqual(['a1']);
    expect(await ids('runtime.name==io.containerd.runsc.v1', 'id==a3')).toEqual(['a2', 'a3']);
    expect(await ids('labels.tier')).toEqual(['a1']);
    expect(await ids('id~=^a[23]$')).toEqual(['a2', 'a3']);
    expect(await ids('')).toEqual(['a1', 'a2', 'a3']);
    await expect(ids('id=="unterminated')).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));

    const messages = await collect(client.listStream({ filters: ['labels.app==web'] }, ns));
    expect(messages.map((m) => m.container!.id)).toEqual(['a1', 'a3']);
    expect(messages.map((m) => m.container)).toEqual((await client.list({ filters: ['labels.app==web'] }, ns)).containers);
    // Other namespaces see none of them.
    expect(await collect(client.listStream({}, { namespace: 'elsewhere' }))).toEqual([]);
  });

  it('streams many containers in order', async () => {
    const ns = { namespace: 'many' };
    const ids = Array.from({ length: 250 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const id of ids) await client.create({ container: wire(id) }, ns);
    expect((await collect(client.listStream({}, ns))).map((m) => m.container!.id)).toEqual(ids);
  });

  it('updates the fields the mask names, keeps created_at and moves updated_at', async () => {
    const { container: created } = await client.create({ container: wire('u1', { labels: { a: '1', b: '2' } }) });
    const mask = (paths: string[], over: MessageInit<Container>) => client.update({ container: { id: 'u1', ...over }, updateMask: { paths } });

    let { container } = await mask(['labels.b', 'labels.c', 'image'], { labels: { b: '', c: '3', a: 'ignored' }, image: 'alpine' });
    expect(container!.labels).toEqual({ a: '1', c: '3' });
    expect(container!.image).toBe('alpine');
    expect(container!.spec).toEqual(created!.spec);
    expect(container!.createdAt).toEqual(created!.createdAt);
    expect(ms(container!.updatedAt)).toBeGreaterThan(ms(created!.updatedAt));

    ({ container } = await mask(['spec', 'snapshotkey', 'extensions.e'], { spec: spec(['true']), snapshotKey: 'other', extensions: { e: { typeUrl: 't', value: new Uint8Array([9]) } } }));
    expect(JSON.parse(new TextDecoder().decode(container!.spec!.value)).process.args).toEqual(['true']);
    expect(container!.snapshotKey).toBe('other');
    expect(container!.extensions).toEqual({ e: { typeUrl: 't', value: new Uint8Array([9]) } });
    expect((await client.get({ id: 'u1' })).container).toEqual(container);

    await expect(mask(['runtime'], { runtime: { name: 'x' } })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
    await expect(mask(['spec'], { spec: undefined })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
    await expect(client.update({ container: { ...wire(''), id: '' } })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
    await expect(client.update({})).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
  });

  it('without a mask replaces labels, spec, extensions, image and snapshot key; snapshotter and runtime are immutable', async () => {
    await client.create({ container: wire('u2', { labels: { a: '1' }, extensions: { e: { typeUrl: 't', value: new Uint8Array([1]) } } }) });
    const { container } = await client.update({ container: wire('u2', { labels: { z: '9' }, image: 'img2', snapshotKey: 'k2' }) });
    expect(container).toMatchObject({ labels: { z: '9' }, image: 'img2', snapshotKey: 'k2', extensions: {} });
    await expect(client.update({ container: wire('u2', { snapshotter: 'native' }) })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
    await expect(client.update({ container: wire('u2', { runtime: { name: 'io.containerd.runsc.v1' } }) })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
  });

  it('deletes', async () => {
    await client.create({ container: wire('d1') });
    await client.delete({ id: 'd1' });
    await expect(client.get({ id: 'd1' })).rejects.toSatisfy(kind(ErrorKind.NotFound));
  });

  it('requires the namespace header on every call (FailedPrecondition "namespace is required")', async () => {
    const none = { namespace: null };
    const required = (e: unknown) => kindOf(e) === ErrorKind.FailedPrecondition && (e as Error).message === 'namespace is required';
    await expect(client.list({}, none)).rejects.toSatisfy(required);
    await expect(client.get({ id: 'c1' }, none)).rejects.toSatisfy(required);
    await expect(client.create({ container: wire('nons') }, none)).rejects.toSatisfy(required);
    await expect(client.update({ container: wire('c1') }, none)).rejects.toSatisfy(required);
    await expect(client.delete({ id: 'c1' }, none)).rejects.toSatisfy(required);
    await expect(client.list({}, { namespace: 'bad/ns' })).rejects.toSatisfy(kind(ErrorKind.InvalidArgument));
  });

  /**
   * Expected to fail until grpc/service.ts is fixed. Its serverStream (and bidi) handler ends a
   * failed stream with `call.destroy(status)`; grpc-js's ServerWritableStream then never runs
   * `_final`, so no status is sent and the client waits forever (here: until the deadline, as
   * DeadlineExceeded; `ctr containers ls 'id=="x'` hangs). `call.emit('error', status)` sends it.
   * Once fixed, vitest reports this test as passing unexpectedly: turn `it.fails` into `it`.
   */
  it('ListStream without the namespace header ends with FailedPrecondition', async () => {
    await expect(collect(client.listStream({}, { namespace: null, deadline: 1000 }))).rejects.toSatisfy(
      (e) => kindOf(e) === ErrorKind.FailedPrecondition && (e as Error).message === 'namespace is required',
    );
  });
});

describe.skipIf(!hasCtr)('Containers through ctr', () => {
  const ns = { namespace: 'ctr' };
  const cctr = (...args: string[]) => ctr(engine.address, '-n', 'ctr', ...args);

  beforeAll(async () => {
    await client.create({ container: wire('web', { labels: { app: 'web' }, image: 'docker.io/library/nginx:latest' }) }, ns);
    await client.create({ container: wire('noimage', { image: '', runtime: { name: 'io.containerd.runsc.v1' } }) }, ns);
  });

  it('lists CONTAINER IMAGE RUNTIME (through ListStream), filtered', async () => {
    expect(ctrTable(await cctr('containers', 'ls'), ['CONTAINER', 'IMAGE', 'RUNTIME'])).toEqual([
      { CONTAINER: 'noimage', IMAGE: '-', RUNTIME: 'io.containerd.runsc.v1' },
      { CONTAINER: 'web', IMAGE: 'docker.io/library/nginx:latest', RUNTIME: 'io.containerd.runc.v2' },
    ]);
    expect(await cctr('containers', 'ls', '-q', 'labels.app==web')).toBe('web\n');
    expect(await cctr('containers', 'ls', '-q')).toBe('noimage\nweb\n');
  });

  it('shows a container with `containers info`, its spec decoded', async () => {
    const info = JSON.parse(await cctr('containers', 'info', 'web')) as Record<string, unknown>;
    expect(info).toMatchObject({
      ID: 'web',
      Labels: { app: 'web' },
      Image: 'docker.io/library/nginx:latest',
      Runtime: { Name: 'io.containerd.runc.v2' },
      SnapshotKey: 'web',
      Snapshotter: 'overlayfs',
      Spec: { ociVersion: '1.0.2-dev', process: { args: ['sh'], cwd: '/' }, root: { path: 'rootfs' } },
    });
    const { container } = await client.get({ id: 'web' }, ns);
    expect(Date.parse(info.CreatedAt as string)).toBe(ms(container!.createdAt));
    expect(JSON.parse(await cctr('containers', 'info', '--spec', 'web'))).toMatchObject({ process: { args: ['sh'] } });
    await expect(cctr('containers', 'info', 'nope')).rejects.toSatisfy((e) => e instanceof CtrError && e.message === 'ctr: container "nope": not found');
  });

  it('sets and clears labels with `containers label` (Update with labels.<key> paths)', async () => {
    await cctr('containers', 'label', 'web', 'tier=front', 'app=');
    expect((await client.get({ id: 'web' }, ns)).container!.labels).toEqual({ tier: 'front' });
  });
});
