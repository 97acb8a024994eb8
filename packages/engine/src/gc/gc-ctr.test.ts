import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { containersService, contentService, leasesService } from '@berth/api';
import { digestOf, Label } from '@berth/spec';
import { testImage } from '@berth/testimages';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addService } from '../grpc/service';
import { containersImpl } from '../services/containers';
import { contentTestClient } from '../services/content-test-client';
import { createGrpcClient, ctr, ctrTable, hasCtr, type TestEngine } from '../testing';
import { startImagesTestEngine } from '../services/images-test-engine';

const isRoot = process.getuid?.() === 0;
const BUSYBOX = 'docker.io/library/busybox:latest';
const SNAPSHOTS = ['KEY', 'PARENT', 'KIND'] as const;
const HOUR = 3_600_000;

let engine: TestEngine | undefined;

afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/**
 * A berthd with what `ctr images import`, `ctr containers create` and content need, whose
 * collector runs the way berthd's does after deletions (the periodic and startup runs off, so
 * only the deletions under test trigger one).
 */
async function start(): Promise<TestEngine> {
  engine = await startImagesTestEngine({
    gc: { intervalMs: 0, startupDelayMs: undefined },
    also: (server, ctx) => addService(server, containersService.Containers, containersImpl(ctx)),
  });
  return engine;
}

const contentLs = async (e: TestEngine, ns: string) => (await ctr(e.address, '-n', ns, 'content', 'ls', '-q')).split('\n').filter(Boolean).sort();
const snapshotsLs = async (e: TestEngine, ns: string) => ctrTable(await ctr(e.address, '-n', ns, 'snapshots', 'ls'), SNAPSHOTS).map((r) => r.KEY).sort();
const blobFiles = (e: TestEngine) => readdirSync(join(e.dir, 'root', 'content', 'blobs', 'sha256'));
const snapshotDirs = (e: TestEngine) => readdirSync(join(e.dir, 'root', 'snapshots', 'overlayfs', 'snapshots'));
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Commits `text` as a blob of `ns` through the Content service, within `lease`. */
async function put(e: TestEngine, ns: string, lease: string, text: string): Promise<string> {
  const client = contentTestClient(e.address, ns, lease);
  try {
    const data = Buffer.from(text);
    const w = client.write();
    const { digest } = await w.send({ action: contentService.WriteAction.COMMIT, ref: `put-${text}`, total: data.length, expected: digestOf(data), data });
    await w.end();
    return digest;
  } finally {
    client.close();
  }
}

describe.skipIf(!hasCtr || !isRoot)('garbage collection through ctr', () => {
  it('ctr images rm: content and snapshots go with the last name of the image, blobs and directories too', async () => {
    const e = await start();
    const a = e.address;
    const img = await testImage('busybox', 'oci');
    await ctr(a, '-n', 'gc', 'images', 'import', img.path);
    const content = await contentLs(e, 'gc');
    const snapshots = await snapshotsLs(e, 'gc');
    expect(content).toContain(img.manifest.digest);
    expect(content).toContain(img.config.digest);
    expect(snapshots).toHaveLength(img.diffIds.length);
    expect(snapshotDirs(e)).toHaveLength(img.diffIds.length);
    // ctr's import lease is gone: what stays, stays because the image holds it.
    expect((await ctr(a, '-n', 'gc', 'leases', 'ls', '-q')).trim()).toBe('');

    // An image shared by two names survives removing one.
    await ctr(a, '-n', 'gc', 'images', 'tag', BUSYBOX, 'docker.io/library/busybox:alias');
    await ctr(a, '-n', 'gc', 'images', 'rm', '--sync', BUSYBOX);
    expect(await contentLs(e, 'gc')).toEqual(content);
    expect(await snapshotsLs(e, 'gc')).toEqual(snapshots);
    expect(await ctr(a, '-n', 'gc', 'images', 'check')).toMatch(/complete \(2\/2\).*true/);

    // Without --sync the collection follows the delete shortly.
    await ctr(a, '-n', 'gc', 'images', 'rm', 'docker.io/library/busybox:alias');
    // (The records go first, in one transaction; the files after them.)
    await vi.waitFor(
      async () => {
        expect(await contentLs(e, 'gc')).toEqual([]);
        expect(await snapshotsLs(e, 'gc')).toEqual([]);
        expect(blobFiles(e)).toEqual([]);
        expect(snapshotDirs(e)).toEqual([]);
      },
      { timeout: 10_000, interval: 50 },
    );
  }, 120_000);

  it('a container keeps its snapshot and the image layers under it after the image is removed', async () => {
    const e = await start();
    const a = e.address;
    const img = await testImage('busybox', 'oci');
    await ctr(a, '-n', 'gc', 'images', 'import', img.path);
    const layers = await snapshotsLs(e, 'gc');
    await ctr(a, '-n', 'gc', 'containers', 'create', BUSYBOX, 'c1');
    await ctr(a, '-n', 'gc', 'images', 'rm', '--sync', BUSYBOX);
    // As in containerd, a container does not hold its image's content; its rootfs holds the layers.
    expect(await contentLs(e, 'gc')).toEqual([]);
    expect(await snapshotsLs(e, 'gc')).toEqual([...layers, 'c1'].sort());
    expect(snapshotDirs(e)).toHaveLength(layers.length + 1);

    await ctr(a, '-n', 'gc', 'containers', 'rm', 'c1');
    await vi.waitFor(
      async () => {
        expect(await snapshotsLs(e, 'gc')).toEqual([]);
        expect(snapshotDirs(e)).toEqual([]);
      },
      { timeout: 10_000, interval: 50 },
    );
  }, 120_000);

  it('a lease protects its content until its containerd.io/gc.expire passes, then it is removed too', async () => {
    const e = await start();
    const a = e.address;
    const leases = createGrpcClient(a, leasesService.Leases, { namespace: 'lz' });
    try {
      await leases.create({ id: 'expired', labels: { [Label.GcExpire]: rfc3339(Date.now() - HOUR) } });
      await leases.create({ id: 'current', labels: { [Label.GcExpire]: rfc3339(Date.now() + HOUR) } });
      await leases.create({ id: 'trigger', labels: {} });
      const gone = await put(e, 'lz', 'expired', 'held by an expired lease');
      const kept = await put(e, 'lz', 'current', 'held by a current lease');
      expect(await contentLs(e, 'lz')).toEqual([gone, kept].sort());
      await ctr(a, '-n', 'lz', 'leases', 'rm', '--sync', 'trigger');
      expect(await contentLs(e, 'lz')).toEqual([kept]);
      expect((await ctr(a, '-n', 'lz', 'leases', 'ls', '-q')).trim()).toBe('current');
    } finally {
      leases.close();
    }
  }, 60_000);

  it('containerd.io/gc.root keeps content, and a gc.ref.content label of kept content keeps its target', async () => {
    const e = await start();
    const a = e.address;
    await ctr(a, '-n', 'lb', 'leases', 'create', '--id', 'tmp');
    const root = await put(e, 'lb', 'tmp', 'root');
    const child = await put(e, 'lb', 'tmp', 'child');
    const loose = await put(e, 'lb', 'tmp', 'loose');
    await ctr(a, '-n', 'lb', 'content', 'label', root, `${Label.GcRoot}=${rfc3339(Date.now())}`, `containerd.io/gc.ref.content.x=${child}`);
    await ctr(a, '-n', 'lb', 'leases', 'rm', '--sync', 'tmp');
    expect(await contentLs(e, 'lb')).toEqual([child, root].sort());
    expect(blobFiles(e).sort()).toEqual([child, root].map((d) => d.slice('sha256:'.length)).sort());

    // Unpinning the root frees both.
    await ctr(a, '-n', 'lb', 'content', 'label', root, `${Label.GcRoot}=`); // '' deletes the label
    await ctr(a, '-n', 'lb', 'leases', 'create', '--id', 'trigger');
    await ctr(a, '-n', 'lb', 'leases', 'rm', '--sync', 'trigger');
    expect(await contentLs(e, 'lb')).toEqual([]);
    expect(blobFiles(e)).toEqual([]);
  }, 60_000);
});
