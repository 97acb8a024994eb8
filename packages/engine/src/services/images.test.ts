import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imagesService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { testImage } from '@berth/testimages';
import type { BuiltImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection, createGrpcClient, ctr, ctrTable, hasCtr, runCtr, type GrpcClient, type TestEngine } from '../testing';
import { startImagesTestEngine } from './images-test-engine';

const isRoot = process.getuid?.() === 0;
const BUSYBOX = 'docker.io/library/busybox:latest';
const LS = ['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS', 'LABELS'] as const;
const SNAPSHOTS = ['KEY', 'PARENT', 'KIND'] as const;
const CHECK = ['REF', 'TYPE', 'DIGEST', 'STATUS', 'SIZE', 'UNPACKED'] as const;

let engine: TestEngine;
let client: GrpcClient<(typeof imagesService.Images)['methods']>;

beforeAll(async () => {
  engine = await startImagesTestEngine();
  client = createGrpcClient(engine.address, imagesService.Images, { namespace: 'grpc' });
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
});


/** The image's layer chain IDs (OCI image spec: chainID(n) = sha256(chainID(n-1) + " " + diffID(n))). */
function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

function expectUnpacked(rows: Record<(typeof SNAPSHOTS)[number], string>[], img: BuiltImage): void {
  const chain = chainIds(img.diffIds);
  expect(rows).toEqual(
    chain
      .map((key, i) => ({ KEY: key, PARENT: i === 0 ? '' : chain[i - 1]!, KIND: 'Committed' }))
      .sort((a, b) => (a.KEY < b.KEY ? -1 : 1)),
  );
}

const target = (digest = `sha256:${'a'.repeat(64)}`) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest,
  size: 100,
  annotations: {},
});

describe('Images over gRPC', () => {
  it('creates, gets, lists with filters, updates by mask and deletes', async () => {
    const created = await client.create({ image: { name: 'a', labels: { k: 'v' }, target: target() } });
    expect(created.image).toMatchObject({ name: 'a', labels: { k: 'v' }, target: target() });
    expect(created.image!.createdAt!.seconds).toBeGreaterThan(0);

    const dup = await rejection(client.create({ image: { name: 'a', labels: {}, target: target() } }));
    expect(kindOf(dup)).toBe(ErrorKind.AlreadyExists);
    expect((dup as Error).message).toContain('image "a": already exists');

    await client.create({
      image: { name: 'b', labels: {}, target: { ...target(`sha256:${'b'.repeat(64)}`), mediaType: 'application/vnd.oci.image.index.v1+json' } },
    });
    expect((await client.get({ name: 'b' })).image!.target!.digest).toBe(`sha256:${'b'.repeat(64)}`);

    const names = async (filters: string[]) => (await client.list({ filters })).images.map((i) => i.name).sort();
    expect(await names([])).toEqual(['a', 'b']);
    expect(await names(['name==b'])).toEqual(['b']);
    expect(await names(['labels.k==v'])).toEqual(['a']);
    expect(await names([`target.digest==sha256:${'b'.repeat(64)}`])).toEqual(['b']);
    expect(await names(['target.mediatype~=index'])).toEqual(['b']);
    expect(await names(['name==a', 'name==b'])).toEqual(['a', 'b']); // OR
    expect(await client.list({ filters: [] }, { namespace: 'other' })).toEqual({ images: [] });

    // One label by mask; others kept; '' deletes.
    let u = await client.update({ image: { name: 'a', labels: { x: 'y' } }, updateMask: { paths: ['labels.x'] } });
    expect(u.image!.labels).toEqual({ k: 'v', x: 'y' });
    u = await client.update({ image: { name: 'a', labels: {} }, updateMask: { paths: ['labels.k'] } });
    expect(u.image!.labels).toEqual({ x: 'y' });
    u = await client.update({ image: { name: 'a', labels: {}, target: { ...target(), annotations: { an: 'n' } } }, updateMask: { paths: ['annotations'] } });
    expect(u.image!.target!.annotations).toEqual({ an: 'n' });
    u = await client.update({ image: { name: 'a', labels: {}, target: target(`sha256:${'c'.repeat(64)}`) }, updateMask: { paths: ['target'] } });
    expect(u.image!.target!.digest).toBe(`sha256:${'c'.repeat(64)}`);
    expect(u.image!.labels).toEqual({ x: 'y' });
    // No mask: labels and target replaced.
    u = await client.update({ image: { name: 'a', labels: { z: '1' }, target: target() } });
    expect(u.image).toMatchObject({ labels: { z: '1' }, target: target() });

    // `ctr images import` calls Update first and needs NotFound for a new name.
    const missing = await rejection(client.update({ image: { name: 'nope', labels: {}, target: target() }, updateMask: { paths: ['target'] } }));
    expect(kindOf(missing)).toBe(ErrorKind.NotFound);

    await client.delete({ name: 'a', sync: true });
    const gone = await rejection(client.get({ name: 'a' }));
    expect(kindOf(gone)).toBe(ErrorKind.NotFound);
    expect((gone as Error).message).toContain('image "a": not found');
    expect(kindOf(await rejection(client.delete({ name: 'a', sync: false })))).toBe(ErrorKind.NotFound);
    await client.delete({ name: 'b', sync: false });
  });

  it('validates as containerd does', async () => {
    const bad = [
      { name: '', labels: {}, target: target() },
      { name: 'x', labels: {}, target: { ...target(), digest: 'nope' } },
      { name: 'x', labels: {}, target: { ...target(), mediaType: '' } },
      { name: 'x', labels: {} },
    ];
    for (const image of bad) expect(kindOf(await rejection(client.create({ image })))).toBe(ErrorKind.InvalidArgument);
    expect(kindOf(await rejection(client.update({ image: { name: 'x', labels: {} }, updateMask: { paths: ['bogus'] } })))).not.toBe(ErrorKind.Unknown);
  });

  it('requires a namespace', async () => {
    const err = await rejection(client.list({ filters: [] }, { namespace: '' }));
    expect(kindOf(err)).toBe(ErrorKind.FailedPrecondition);
  });
});

describe.skipIf(!hasCtr || !isRoot)('Images through ctr', () => {
  it('imports and unpacks the busybox OCI archive, then tags, labels, filters, checks and removes', async () => {
    const img = await testImage('busybox', 'oci');
    const a = engine.address;
    const out = await ctr(a, '-n', 'oci', 'images', 'import', img.path);
    expect(out).toContain(`unpacking ${BUSYBOX} (${img.manifest.digest})...done`);

    const rows = ctrTable(await ctr(a, '-n', 'oci', 'images', 'ls'), LS);
    const size = img.manifest.size + img.config.size + img.layers.reduce((n, l) => n + l.size, 0);
    expect(rows).toEqual([
      {
        REF: BUSYBOX,
        TYPE: img.manifest.mediaType,
        DIGEST: img.manifest.digest,
        SIZE: `${(size / (1 << 20)).toFixed(1)} MiB`,
        PLATFORMS: 'linux/amd64',
        LABELS: '-',
      },
    ]);

    // The unpacked chain: one committed snapshot per layer, named by its chain ID.
    expectUnpacked(ctrTable(await ctr(a, '-n', 'oci', 'snapshots', 'ls'), SNAPSHOTS), img);
    const top = chainIds(img.diffIds).at(-1)!;
    // And it holds the image's files: a view of the top shows busybox.
    await ctr(a, '-n', 'oci', 'snapshots', 'view', 'look', top);
    const source = /-t bind (\S+) /.exec(await ctr(a, '-n', 'oci', 'snapshots', 'mounts', '/tmp/x', 'look'))?.[1];
    expect(source).toBeDefined();
    expect(existsSync(join(source!, 'bin'))).toBe(true);
    await ctr(a, '-n', 'oci', 'snapshots', 'rm', 'look');

    // The unpack labelled the layer with its diffID and the config with the snapshot.
    const content = await ctr(a, '-n', 'oci', 'content', 'ls');
    expect(content).toContain(`containerd.io/uncompressed=${img.diffIds[0]}`);
    expect(content).toContain(`containerd.io/gc.ref.snapshot.overlayfs=${top}`);

    const check = ctrTable(await ctr(a, '-n', 'oci', 'images', 'check'), CHECK);
    expect(check).toEqual([{ REF: BUSYBOX, TYPE: img.manifest.mediaType, DIGEST: img.manifest.digest, STATUS: 'complete (2/2)', SIZE: '1.0 MiB/1.0 MiB', UNPACKED: 'true' }]);

    // Importing again updates the existing image (Update finds it).
    await ctr(a, '-n', 'oci', 'images', 'import', img.path);
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q')).trim()).toBe(BUSYBOX);

    await ctr(a, '-n', 'oci', 'images', 'tag', BUSYBOX, 'docker.io/library/busybox:v1');
    expect(await ctr(a, '-n', 'oci', 'images', 'label', 'docker.io/library/busybox:v1', 'team=berth')).toContain('team=berth');
    const tagged = ctrTable(await ctr(a, '-n', 'oci', 'images', 'ls'), LS);
    expect(tagged.map((r) => [r.REF, r.DIGEST, r.LABELS])).toEqual([
      [BUSYBOX, img.manifest.digest, '-'],
      ['docker.io/library/busybox:v1', img.manifest.digest, 'team=berth'],
    ]);
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q', 'labels.team==berth')).trim()).toBe('docker.io/library/busybox:v1');
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q', `target.digest==${img.manifest.digest}`)).trim().split('\n')).toHaveLength(2);
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q', 'name==nope')).trim()).toBe('');

    // Another namespace sees none of it.
    expect((await ctr(a, '-n', 'other', 'images', 'ls', '-q')).trim()).toBe('');
    expect(ctrTable(await ctr(a, '-n', 'other', 'snapshots', 'ls'), SNAPSHOTS)).toEqual([]);

    await ctr(a, '-n', 'oci', 'images', 'rm', 'docker.io/library/busybox:v1');
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q')).trim()).toBe(BUSYBOX);
    const missing = await runCtr(a, ['-n', 'oci', 'images', 'rm', 'nope']);
    expect(missing.code).toBe(0); // ctr only warns
    expect(missing.stderr).toContain('nope: image not found');
    await ctr(a, '-n', 'oci', 'images', 'rm', '--sync', BUSYBOX);
    expect((await ctr(a, '-n', 'oci', 'images', 'ls', '-q')).trim()).toBe('');
  }, 120_000);

  it('imports and unpacks the busybox docker archive', async () => {
    const img = await testImage('busybox', 'docker');
    const a = engine.address;
    expect(await ctr(a, '-n', 'docker', 'images', 'import', img.path)).toMatch(/^unpacking docker\.io\/library\/busybox:latest \(sha256:[0-9a-f]{64}\)\.\.\.done\n$/);
    const rows = ctrTable(await ctr(a, '-n', 'docker', 'images', 'ls'), LS);
    expect(rows).toEqual([
      {
        REF: BUSYBOX,
        TYPE: 'application/vnd.docker.distribution.manifest.v2+json',
        DIGEST: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        SIZE: expect.stringMatching(/MiB$/),
        PLATFORMS: 'linux/amd64',
        LABELS: '-',
      },
    ]);
    expectUnpacked(ctrTable(await ctr(a, '-n', 'docker', 'snapshots', 'ls'), SNAPSHOTS), img);
    const check = ctrTable(await ctr(a, '-n', 'docker', 'images', 'check'), CHECK);
    expect(check).toMatchObject([{ REF: BUSYBOX, STATUS: 'complete (2/2)', UNPACKED: 'true' }]);
  }, 120_000);
});
