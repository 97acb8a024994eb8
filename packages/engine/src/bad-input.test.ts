import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersService, contentService, imagesService, leasesService, namespacesService, snapshotsService, tasksService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { startEngine } from './engine';
import { containerdMissing, createGrpcClient, rejection, startContainerd } from './testing';

/**
 * The bad inputs of issue 5 sent to berthd and to Debian's containerd through the same client:
 * each gets the same error kind from both, and leaves nothing behind on either. containerd is
 * the reference here, not a benchmark: if it cannot run (not root, not installed), only berthd
 * is checked against the kinds containerd gave when this test was written.
 */

const SPEC_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
const isRoot = process.getuid?.() === 0;

interface Server {
  name: string;
  address: string;
  stop(): Promise<void>;
}

const servers: Server[] = [];
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-bad-input-'));
  const berthd = await startEngine({ root: join(base, 'root'), state: join(base, 'state') });
  servers.push({ name: 'berthd', address: berthd.address, stop: () => berthd.stop() });
  if (isRoot && !containerdMissing()) {
    const containerd = await startContainerd();
    servers.push({ name: 'containerd', address: containerd.address, stop: () => containerd.stop() });
  }
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await rm(base, { recursive: true, force: true });
});

/** Runs `probe` against every server and expects `kind` from each. */
async function expectKindEverywhere(kind: ErrorKind, probe: (address: string, namespace: string) => Promise<unknown>): Promise<void> {
  const namespace = `bad-${Math.random().toString(36).slice(2, 8)}`;
  const got: Record<string, string> = {};
  const want: Record<string, string> = {};
  for (const s of servers) {
    got[s.name] = kindOf(await rejection(probe(s.address, namespace)));
    want[s.name] = kind;
  }
  expect(got).toEqual(want);
}

function clients(address: string, namespace: string) {
  return {
    namespaces: createGrpcClient(address, namespacesService.Namespaces, { namespace }),
    containers: createGrpcClient(address, containersService.Containers, { namespace }),
    content: createGrpcClient(address, contentService.Content, { namespace }),
    images: createGrpcClient(address, imagesService.Images, { namespace }),
    snapshots: createGrpcClient(address, snapshotsService.Snapshots, { namespace }),
    leases: createGrpcClient(address, leasesService.Leases, { namespace }),
  };
}

describe('bad input gets the error kind containerd gives, and changes nothing', () => {
  it('runs against containerd too when it can', () => {
    expect(servers.map((s) => s.name)).toEqual(isRoot && !containerdMissing() ? ['berthd', 'containerd'] : ['berthd']);
  });

  it('a namespace name with invalid characters', async () => {
    for (const name of ['bad/ns', 'Bad ns', '-leading', 'a..b']) {
      await expectKindEverywhere(ErrorKind.InvalidArgument, async (address) => {
        const c = clients(address, 'default');
        return c.namespaces.create({ namespace: { name } });
      });
      // …in the header too.
      await expectKindEverywhere(ErrorKind.InvalidArgument, async (address) => clients(address, name).containers.list({}));
    }
    for (const s of servers) {
      const { namespaces } = await clients(s.address, 'default').namespaces.list({});
      expect(namespaces.map((n) => n.name).filter((n) => /[/ ]|^-|\.\./.test(n))).toEqual([]);
    }
  });

  it('a content commit with a wrong digest', async () => {
    const data = Buffer.from('berth bad-input blob\n');
    const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const wrong = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    await expectKindEverywhere(ErrorKind.FailedPrecondition, async (address, namespace) => {
      const c = clients(address, namespace);
      const w = c.content.write();
      try {
        await w.send({ action: contentService.WriteAction.COMMIT, ref: 'wrong-digest', total: data.length, expected: wrong, offset: 0, data });
        return await w.recv();
      } finally {
        w.end();
      }
    });
    for (const s of servers) {
      const c = clients(s.address, 'default');
      for (const digest of [actual, wrong]) expect(kindOf(await rejection(c.content.info({ digest })))).toBe(ErrorKind.NotFound);
    }
  });

  it('a container whose spec is not JSON', async () => {
    // containerd stores the spec opaquely (it is the bundle's config.json, read by the runtime),
    // so the container record is accepted by both; its task is not, with containerd's Unknown
    // (the runtime's JSON error), and no task is left behind.
    await expectKindEverywhere(ErrorKind.Unknown, async (address, namespace) => {
      const c = clients(address, namespace);
      const tasks = createGrpcClient(address, tasksService.Tasks, { namespace });
      await c.containers.create({
        container: { id: 'not-json', runtime: { name: 'io.containerd.runc.v2' }, spec: { typeUrl: SPEC_URL, value: Buffer.from('{not json') } },
      });
      try {
        return await tasks.create({ containerId: 'not-json' });
      } finally {
        expect(kindOf(await rejection(tasks.get({ containerId: 'not-json' })))).toBe(ErrorKind.NotFound);
        await c.containers.delete({ id: 'not-json' });
      }
    });
    // …and what neither accepts is a container with no spec at all.
    await expectKindEverywhere(ErrorKind.InvalidArgument, async (address, namespace) => {
      const c = clients(address, namespace);
      try {
        return await c.containers.create({ container: { id: 'no-spec', runtime: { name: 'io.containerd.runc.v2' } } });
      } finally {
        expect(kindOf(await rejection(c.containers.get({ id: 'no-spec' })))).toBe(ErrorKind.NotFound);
      }
    });
    // berthd left no bundle behind (containerd's are under its own state dir).
    const shims = join(base, 'state', 'shims');
    expect((existsSync(shims) ? readdirSync(shims, { recursive: true }) : []).filter((p) => String(p).includes('not-json'))).toEqual([]);
  });

  it('a snapshot key that exists', async () => {
    await expectKindEverywhere(ErrorKind.AlreadyExists, async (address, namespace) => {
      const c = clients(address, namespace);
      // Under a lease, as containerd's clients work: an active snapshot with none is the garbage
      // collector's to remove, and its first run after start (100 ms) may come in between.
      const { lease } = await c.leases.create({ id: `${namespace}-lease` });
      const leased = { lease: lease!.id };
      await c.snapshots.prepare({ snapshotter: 'native', key: 'taken' }, leased);
      try {
        return await c.snapshots.prepare({ snapshotter: 'native', key: 'taken', labels: { changed: 'no' } }, leased);
      } finally {
        const { info } = await c.snapshots.stat({ snapshotter: 'native', key: 'taken' });
        expect(info?.labels ?? {}).toEqual({});
        await c.snapshots.remove({ snapshotter: 'native', key: 'taken' });
        await c.leases.delete({ id: lease!.id });
      }
    });
  });

  it('deleting an image that does not exist', async () => {
    await expectKindEverywhere(ErrorKind.NotFound, async (address, namespace) => {
      const c = clients(address, namespace);
      await c.namespaces.create({ namespace: { name: namespace } });
      return c.images.delete({ name: 'docker.io/library/nope:latest' });
    });
  });
});
