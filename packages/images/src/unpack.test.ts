import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { ContentStore } from '@berth/content';
import { createApplier, type Applier } from '@berth/diff';
import { ErrorKind } from '@berth/errdefs';
import { createNativeSnapshotter, createOverlaySnapshotter, withMounts, type Info, type Snapshotter } from '@berth/snapshots';
import { Label, chainId, chainIds, digestOf } from '@berth/spec';
import { expectedTree, imageReference, testImage } from '@berth/testimages';
import { describe, expect, it, onTestFinished } from 'vitest';
import { importArchive } from './import-archive';
import { rejectsWithKind, stores } from './test/helpers';
import { readTree, withoutMtimes } from './test/tree';
import type { Image } from './types';
import { unpack } from './unpack';

const isRoot = process.getuid?.() === 0;

const snapshotters = {
  overlayfs: (root: string) => createOverlaySnapshotter({ root }),
  native: (root: string) => createNativeSnapshotter({ root }),
} as const;

/** An applier that counts its calls and can be told to lie about one layer's digest. */
function countingApplier(inner: Applier, opts: { lieAt?: number } = {}): Applier & { calls: number } {
  const wrapper = {
    calls: 0,
    async apply(...args: Parameters<Applier['apply']>) {
      const n = wrapper.calls++;
      const applied = await inner.apply(...args);
      return n === opts.lieAt ? { ...applied, digest: digestOf('not the layer') } : applied;
    },
  };
  return wrapper;
}

async function snapshots(sn: Snapshotter): Promise<Info[]> {
  const all: Info[] = [];
  await sn.walk((info) => void all.push(info));
  return all;
}

async function setup(name: keyof typeof snapshotters, image: 'layers' | 'busybox' = 'layers') {
  const { content, images, dir } = await stores();
  const built = await testImage(image, 'oci');
  const started = performance.now();
  await importArchive(content, images, createReadStream(built.path));
  const importMs = performance.now() - started;
  const sn = await snapshotters[name](join(dir, 'snapshots', name));
  onTestFinished(() => sn.close());
  const applier = countingApplier(createApplier({ content }));
  const img = await images.get(imageReference(image));
  return { content, sn, applier, img, built, importMs };
}

const run = (content: ContentStore, sn: Snapshotter, applier: Applier, img: Image, name: string) =>
  unpack({ content, snapshotter: sn, applier, snapshotterName: name, image: img });

describe.skipIf(!isRoot).each(Object.keys(snapshotters) as (keyof typeof snapshotters)[])('unpack with %s (root)', (name) => {
  it('unpacks the layers image to exactly the expected tree, with labels, and no active snapshot left', async () => {
    const { content, sn, applier, img, built, importMs } = await setup(name);
    const started = performance.now();
    const result = await run(content, sn, applier, img, name);
    const unpackMs = performance.now() - started;
    console.info(`layers image: import ${importMs.toFixed(0)} ms, unpack (${name}) ${unpackMs.toFixed(0)} ms`);
    expect(result).toEqual({ chainId: chainId(built.diffIds), applied: built.layers.length });
    const all = await snapshots(sn);
    expect(all.map((s) => [s.name, s.kind, s.parent]).sort()).toEqual(
      chainIds(built.diffIds).map((c, i, arr) => [c, 'committed', arr[i - 1]]).sort(),
    );
    for (const [i, layer] of built.layers.entries()) {
      expect((await content.info(layer.digest)).labels[Label.Uncompressed]).toBe(built.diffIds[i]);
    }
    expect((await content.info(built.config.digest)).labels[`containerd.io/gc.ref.snapshot.${name}`]).toBe(result.chainId);

    const mounts = await sn.view('check', result.chainId);
    try {
      const tree = await withMounts(mounts, (dir) => readTree(dir));
      const expected = withoutMtimes(await expectedTree('layers'));
      expect(Object.values(expected).some((n) => n.hardlinkTo) && Object.values(expected).some((n) => n.xattrs)).toBe(true);
      expect(tree).toEqual(expected);
    } finally {
      await sn.remove('check');
    }
  }, 120_000);

  it('unpacks the busybox image to exactly the expected tree', async () => {
    const { content, sn, applier, img } = await setup(name, 'busybox');
    const result = await run(content, sn, applier, img, name);
    const mounts = await sn.view('check-busybox', result.chainId);
    try {
      const tree = await withMounts(mounts, (dir) => readTree(dir));
      expect(tree).toEqual(withoutMtimes(await expectedTree('busybox')));
    } finally {
      await sn.remove('check-busybox');
    }
  }, 60_000);

  it('skips layers already unpacked: a second unpack applies nothing', async () => {
    const { content, sn, applier, img } = await setup(name, 'busybox');
    await run(content, sn, applier, img, name);
    const before = applier.calls;
    const again = await run(content, sn, applier, img, name);
    expect(before).toBeGreaterThan(0);
    expect(applier.calls).toBe(before);
    expect(again.applied).toBe(0);
  }, 60_000);

  it('two concurrent unpacks of the same image both succeed with one set of committed snapshots', async () => {
    const { content, sn, applier, img, built } = await setup(name);
    const [a, b] = await Promise.all([run(content, sn, applier, img, name), run(content, sn, applier, img, name)]);
    expect(a.chainId).toBe(b.chainId);
    // Each chain ID is committed once, by whichever unpack got there first...
    expect(a.applied + b.applied).toBe(built.layers.length);
    // ...and the race did happen: both applied at least the bottom layer, one lost the commit.
    expect(applier.calls).toBeGreaterThan(built.layers.length);
    const all = await snapshots(sn);
    expect(all.filter((s) => s.kind !== 'committed')).toEqual([]);
    expect(all.map((s) => s.name).sort()).toEqual([...chainIds(built.diffIds)].sort());
  }, 120_000);

  it('a layer whose applied digest is not its diffID is DataLoss; its active snapshot is removed', async () => {
    const { content, sn, img, built } = await setup(name);
    const liar = countingApplier(createApplier({ content }), { lieAt: 2 });
    await rejectsWithKind(run(content, sn, liar, img, name), ErrorKind.DataLoss);
    const all = await snapshots(sn);
    expect(all.filter((s) => s.kind !== 'committed')).toEqual([]);
    expect(all.map((s) => s.name).sort()).toEqual(chainIds(built.diffIds).slice(0, 2).sort());
    const resumed = await run(content, sn, liar, img, name);
    expect(resumed.applied).toBe(built.layers.length - 2);
  }, 120_000);
});

describe('unpack: arguments', () => {
  it('needs an image or a target', async () => {
    const { content } = await stores();
    const fake = {} as Snapshotter;
    await rejectsWithKind(unpack({ content, snapshotter: fake, applier: createApplier({ content }), snapshotterName: 'x' }), ErrorKind.InvalidArgument);
  });
});
