import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { containersService, events, eventsService, snapshotsService } from '@berth/api';
import { ErrorKind } from '@berth/errdefs';
import { imageReference, testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { CTR, createGrpcClient, ctr, hasCtr, rejectionKind, type GrpcClient, type TestEngine } from '../testing';
import { containersImpl } from './containers';
import { eventsImpl } from './events';
import { startImagesTestEngine } from './images-test-engine';

const isRoot = process.getuid?.() === 0;
const READY = '/test/ready';

let engine: TestEngine;
let client: GrpcClient<(typeof eventsService.Events)['methods']>;

beforeAll(async () => {
  engine = await startImagesTestEngine({
    prefix: 'berth-events-',
    also: (server, ctx) => {
      addService(server, containersService.Containers, containersImpl(ctx));
      addService(server, eventsService.Events, eventsImpl(ctx));
    },
  });
  client = createGrpcClient(engine.address, eventsService.Events, { namespace: 'grpc' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});

const any = <T>(codec: { typeName: string; encode(v: T): Uint8Array }, v: T) => ({ typeUrl: codec.typeName, value: codec.encode(v) });
const marker = (n: number) => any(events.ContentDelete, { digest: `ready-${n}` });

/**
 * Repeats `publish marker n` until `arrived` resolves: a subscription exists only once the server
 * has the call, which the client cannot observe otherwise.
 */
async function untilSubscribed(arrived: Promise<unknown>): Promise<void> {
  let seen = false;
  void arrived.then(() => (seen = true));
  for (let n = 0; !seen; n++) {
    await client.publish({ topic: READY, event: marker(n) }, { namespace: 'ready' });
    await Promise.race([arrived, new Promise((r) => setTimeout(r, 50))]);
  }
}

/** A typed Subscribe stream, open on the server when this resolves; markers are skipped. */
async function subscribe(filters: string[]) {
  const ac = new AbortController();
  const it = client.subscribe({ filters: [...filters, `topic=="${READY}"`] }, { signal: ac.signal })[Symbol.asyncIterator]();
  const next = async (): Promise<eventsService.Envelope> => {
    for (;;) {
      const r = await it.next();
      if (r.done) throw new Error('the events stream ended');
      if (r.value.topic !== READY) return r.value;
    }
  };
  await untilSubscribed(it.next());
  return { next, close: () => ac.abort() };
}

/** `ctr events`, running until `stop()`, with its output parsed into `namespace topic payload` records. */
interface CtrEvents {
  /** Every event printed so far, in order. */
  readonly lines: { namespace: string; topic: string; event: unknown }[];
  /** Resolves once a line with `topic` has been printed. */
  until(topic: string): Promise<void>;
  stop(): Promise<void>;
}

// ctr prints `fmt.Println(e.Timestamp, e.Namespace, e.Topic, json)`: Go's time.Time String form first.
const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [+-]\d{4} \S+ (\S+) (\S+) (.*)$/;

async function startCtrEvents(): Promise<CtrEvents> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONTAINERD_')));
  const child: ChildProcess = spawn(CTR, ['--address', engine.address, 'events'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: CtrEvents['lines'] = [];
  const waiters: { topic: string; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = LINE.exec(line);
    if (!m) throw new Error(`ctr events printed an unexpected line: ${JSON.stringify(line)}`);
    lines.push({ namespace: m[1]!, topic: m[2]!, event: JSON.parse(m[3]!) });
    for (const w of waiters.filter((w) => w.topic === m[2])) w.resolve();
  });
  const until = (topic: string) =>
    new Promise<void>((resolve, reject) => {
      if (lines.some((l) => l.topic === topic)) return resolve();
      waiters.push({ topic, resolve });
      void exited.then(() => reject(new Error(`ctr events exited: ${stderr}`)));
    });
  await untilSubscribed(until(READY));
  return {
    lines,
    until,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The image's layer chain IDs (OCI image spec: chainID(n) = sha256(chainID(n-1) + " " + diffID(n))). */
function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

describe.skipIf(!hasCtr || !isRoot)('events through ctr', () => {
  it('ctr events prints what namespaces, images, snapshots, containers and content changes publish', async () => {
    const img = await testImage('busybox', 'oci');
    const ref = imageReference('busybox');
    const chain = chainIds(img.diffIds);
    const a = engine.address;
    const watcher = await startCtrEvents();
    try {
      await ctr(a, 'namespaces', 'create', 'evt', 'team=a');
      await ctr(a, 'namespaces', 'label', 'evt', 'team=b');
      await ctr(a, '-n', 'evt', 'images', 'import', img.path);
      await ctr(a, '-n', 'evt', 'containers', 'create', ref, 'c1');
      await ctr(a, '-n', 'evt', 'containers', 'label', 'c1', 'tier=web');
      await ctr(a, '-n', 'evt', 'containers', 'rm', 'c1');
      await ctr(a, '-n', 'evt', 'snapshots', 'prepare', 'k1');
      await ctr(a, '-n', 'evt', 'snapshots', 'commit', 'k1c', 'k1');
      await ctr(a, '-n', 'evt', 'snapshots', 'rm', 'k1c');
      await ctr(a, '-n', 'evt', 'images', 'rm', ref);
      await ctr(a, '-n', 'evt', 'content', 'rm', img.config.digest);
      await ctr(a, 'namespaces', 'create', 'gone');
      await ctr(a, 'namespaces', 'rm', 'gone');
      // Events reach a subscriber in publishing order: once this one is printed, all are.
      await client.publish({ topic: '/test/end', event: marker(-1) });
      await watcher.until('/test/end');
    } finally {
      await watcher.stop();
    }

    const extract = expect.stringMatching(/^extract-\d+-\S+ sha256:[0-9a-f]{64}$/);
    const unpack = chain.flatMap((id, i) => [
      { namespace: 'evt', topic: '/snapshot/prepare', event: i === 0 ? { key: extract } : { key: extract, parent: chain[i - 1] } },
      { namespace: 'evt', topic: '/snapshot/commit', event: { key: extract, name: id } },
    ]);
    // ctr 1.6 decodes the events with its own (1.6) types: no `snapshotter` field on snapshot events.
    expect(watcher.lines.filter((l) => l.topic !== READY)).toEqual([
      { namespace: 'evt', topic: '/namespaces/create', event: { name: 'evt', labels: { team: 'a' } } },
      { namespace: 'evt', topic: '/namespaces/update', event: { name: 'evt', labels: { team: 'b' } } },
      { namespace: 'evt', topic: '/images/create', event: { name: ref } },
      ...unpack,
      { namespace: 'evt', topic: '/snapshot/prepare', event: { key: 'c1', parent: chain.at(-1) } },
      {
        namespace: 'evt',
        topic: '/containers/create',
        event: { id: 'c1', image: ref, runtime: { name: 'io.containerd.runc.v2', options: { type_url: 'containerd.runc.v1.Options' } } },
      },
      {
        namespace: 'evt',
        topic: '/containers/update',
        // ctr labels the container with the image's stop signal when it creates it; the event has the stored labels.
        event: { id: 'c1', image: ref, labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM', tier: 'web' }, snapshot_key: 'c1' },
      },
      { namespace: 'evt', topic: '/snapshot/remove', event: { key: 'c1' } },
      { namespace: 'evt', topic: '/containers/delete', event: { id: 'c1' } },
      { namespace: 'evt', topic: '/snapshot/prepare', event: { key: 'k1' } },
      { namespace: 'evt', topic: '/snapshot/commit', event: { key: 'k1', name: 'k1c' } },
      { namespace: 'evt', topic: '/snapshot/remove', event: { key: 'k1c' } },
      { namespace: 'evt', topic: '/images/delete', event: { name: ref } },
      { namespace: 'evt', topic: '/content/delete', event: { digest: img.config.digest } },
      { namespace: 'gone', topic: '/namespaces/create', event: { name: 'gone' } },
      { namespace: 'gone', topic: '/namespaces/delete', event: { name: 'gone' } },
      { namespace: 'grpc', topic: '/test/end', event: { digest: 'ready--1' } },
    ]);
  }, 120_000);
});

describe('Events over gRPC', () => {
  it('streams published events to a subscriber whose filter matches, with the namespace and a fresh timestamp', async () => {
    const sub = await subscribe(['namespace==grpc,topic~="^/things/"', 'event.container_id==c7']);
    try {
      const before = Math.floor(Date.now() / 1000);
      await client.publish({ topic: '/other/thing', event: any(events.ContentDelete, { digest: 'skipped' }) });
      await client.publish({ topic: '/things/one', event: any(events.ContentDelete, { digest: 'one' }) });
      await client.publish({ topic: '/tasks/exit', event: any(events.TaskExit, { containerId: 'c6', exitStatus: 1 }) }, { namespace: 'other' });
      await client.publish({ topic: '/tasks/exit', event: any(events.TaskExit, { containerId: 'c7', exitStatus: 2 }) }, { namespace: 'other' });
      await client.publish({ topic: '/things/two', event: { typeUrl: 'example.Opaque', value: Uint8Array.of(1, 2, 3) } });

      const one = await sub.next();
      expect(one).toMatchObject({ namespace: 'grpc', topic: '/things/one', event: { typeUrl: 'containerd.events.ContentDelete' } });
      expect(events.ContentDelete.decode(one.event!.value).digest).toBe('one');
      expect(Number(one.timestamp!.seconds)).toBeGreaterThanOrEqual(before);

      const exit = await sub.next();
      expect(exit).toMatchObject({ namespace: 'other', topic: '/tasks/exit' });
      expect(events.TaskExit.decode(exit.event!.value)).toMatchObject({ containerId: 'c7', exitStatus: 2 });

      const opaque = await sub.next();
      expect(opaque).toMatchObject({ topic: '/things/two', event: { typeUrl: 'example.Opaque', value: Uint8Array.of(1, 2, 3) } });
    } finally {
      sub.close();
    }
  });

  it('forwards an envelope as it is: its own namespace and timestamp', async () => {
    const sub = await subscribe(['topic=="/fwd/x"']);
    try {
      const envelope = { timestamp: { seconds: 1_600_000_000, nanos: 5_000_000 }, namespace: 'elsewhere', topic: '/fwd/x', event: any(events.ContainerDelete, { id: 'f' }) };
      await client.forward({ envelope });
      const got = await sub.next();
      expect(got).toMatchObject({ namespace: 'elsewhere', topic: '/fwd/x', timestamp: { seconds: 1_600_000_000, nanos: 5_000_000 } });
      expect(events.ContainerDelete.decode(got.event!.value).id).toBe('f');
    } finally {
      sub.close();
    }
  });

  it('names the snapshotter in snapshot events (containerd 1.7) and publishes nothing for View', async () => {
    const snapshots = createGrpcClient(engine.address, snapshotsService.Snapshots, { namespace: 'grpc' });
    const sub = await subscribe(['topic~="^/snapshot/",event.snapshotter==native']);
    try {
      await snapshots.prepare({ snapshotter: 'native', key: 'base' });
      await snapshots.commit({ snapshotter: 'native', key: 'base', name: 'base-c' });
      await snapshots.view({ snapshotter: 'native', key: 'v', parent: 'base-c' });
      await snapshots.remove({ snapshotter: 'native', key: 'v' });
      const got = [await sub.next(), await sub.next(), await sub.next()].map((e) => ({ topic: e.topic, typeUrl: e.event!.typeUrl }));
      expect(got).toEqual([
        { topic: '/snapshot/prepare', typeUrl: 'containerd.events.SnapshotPrepare' },
        { topic: '/snapshot/commit', typeUrl: 'containerd.events.SnapshotCommit' },
        { topic: '/snapshot/remove', typeUrl: 'containerd.events.SnapshotRemove' },
      ]);
    } finally {
      sub.close();
      snapshots.close();
    }
  });

  const ev = any(events.ContentDelete, { digest: 'x' });
  it.each([
    ['an empty topic', ''],
    ['a topic without a leading slash', 'tasks/exit'],
    ['a bare slash', '/'],
    ['an empty component', '/tasks//exit'],
    ['a trailing slash', '/tasks/'],
    ['a component that is no identifier', '/tasks/ex it'],
  ])('refuses %s with InvalidArgument on Publish and Forward', async (_, topic) => {
    expect(await rejectionKind(client.publish({ topic, event: ev }))).toBe(ErrorKind.InvalidArgument);
    const envelope = { timestamp: { seconds: 1 }, namespace: 'ns', topic, event: ev };
    expect(await rejectionKind(client.forward({ envelope }))).toBe(ErrorKind.InvalidArgument);
  });

  it('refuses a Publish without an event or namespace, and a Forward with a bad envelope', async () => {
    expect(await rejectionKind(client.publish({ topic: '/a/b' }))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.publish({ topic: '/a/b', event: ev }, { namespace: null }))).toBe(ErrorKind.FailedPrecondition);
    expect(await rejectionKind(client.forward({}))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.forward({ envelope: { timestamp: { seconds: 1 }, namespace: '', topic: '/a', event: ev } }))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.forward({ envelope: { timestamp: { seconds: 1 }, namespace: 'no/slash', topic: '/a', event: ev } }))).toBe(ErrorKind.InvalidArgument);
    expect(await rejectionKind(client.forward({ envelope: { namespace: 'ns', topic: '/a', event: ev } }))).toBe(ErrorKind.InvalidArgument);
  });

  it('refuses a Subscribe with a bad filter with InvalidArgument', async () => {
    const stream = client.subscribe({ filters: ['topic=="/ok"', 'event.(x'] });
    const err = await (async () => {
      try {
        for await (const _ of stream) return undefined;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeDefined();
    expect((err as { kind?: unknown }).kind).toBe(ErrorKind.InvalidArgument);
  });
});
