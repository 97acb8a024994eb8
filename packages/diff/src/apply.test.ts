import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDataLoss, isInvalidArgument, isNotImplemented } from '@berth/errdefs';
import { digestOf, Label, MediaType, type Descriptor } from '@berth/spec';
import { mountOverlay, umount } from '@berth/sys';
import { expectedTree, testImage, type ExpectedTree } from '@berth/testimages';
import type { LocalContentStore } from '@berth/content';
import { writeBlob } from '@berth/content';
import { createApplier } from './apply';
import { buildTar, importArchiveBlobs, newStore, removeDir, snapshotTree, storeLayer, tempDir, type NodeSnapshot } from './test-support';

let work: string;
let store: LocalContentStore;
let layers: Descriptor[];
let diffIds: string[];
let expected: ExpectedTree;

beforeAll(async () => {
  work = await tempDir();
  store = newStore(join(work, 'content'));
  const image = await testImage('layers', 'oci');
  await importArchiveBlobs(store, image.path);
  layers = image.layers;
  diffIds = image.diffIds;
  expected = await expectedTree('layers');
  return () => removeDir(work);
}, 120_000);

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Compares an applied tree with the expectation, entry by entry. */
function expectTree(actual: Record<string, NodeSnapshot>, want: ExpectedTree): void {
  const paths = Object.keys(actual).filter((p) => p !== '/');
  expect(paths.sort()).toEqual(Object.keys(want).sort());
  for (const [path, node] of Object.entries(want)) {
    const got = actual[path]!;
    const shape = {
      type: got.type, mode: got.mode, uid: got.uid, gid: got.gid, mtime: got.mtime, size: got.size,
      ...(got.sha256 && { sha256: `sha256:${got.sha256}` }),
      ...(got.linkname !== undefined && { linkname: got.linkname }),
      ...(got.xattrs && { xattrs: got.xattrs }),
    };
    const { hardlinkTo, ...rest } = node;
    expect({ path, ...shape }).toEqual({ path, ...rest });
    if (hardlinkTo) expect(got.ino).toBe(actual[hardlinkTo]!.ino);
  }
}

describe('apply: the layers test image', () => {
  it('unpacks onto a plain directory (bind mount) to the expected tree, diffIDs included', async () => {
    const root = join(work, `bind-${Date.now()}`);
    await mkdir(root);
    const applier = createApplier({ content: store });
    for (const [i, layer] of layers.entries()) {
      const started = performance.now();
      const applied = await applier.apply(layer, [{ type: 'bind', source: root, options: ['rbind', 'rw'] }]);
      const ms = performance.now() - started;
      if (i === 3) console.log(`layer 4 (32 MiB file, gzip): ${ms.toFixed(0)} ms, ${(applied.size / 1048576 / (ms / 1000)).toFixed(0)} MiB/s uncompressed`);
      expect(applied).toEqual({ mediaType: MediaType.OciLayer, digest: diffIds[i], size: applied.size });
    }
    expectTree(snapshotTree(root, { xattrs: true }), expected);
  }, 60_000);

  it('unpacks as an overlay chain (each layer into its own upper dir) to the same merged tree', async () => {
    const base = join(work, `overlay-${Date.now()}`);
    const applier = createApplier({ content: store });
    const uppers: string[] = [];
    for (const [i, layer] of layers.entries()) {
      const upper = join(base, `${i}`, 'fs');
      const workdir = join(base, `${i}`, 'work');
      await mkdir(upper, { recursive: true });
      await mkdir(workdir, { recursive: true });
      // The first layer has no lowers: containerd hands that one out as a bind mount.
      const mounts = uppers.length === 0
        ? [{ type: 'bind', source: upper, options: ['rbind', 'rw'] }]
        : [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${[...uppers].reverse().join(':')}`, `upperdir=${upper}`, `workdir=${workdir}`] }];
      const applied = await applier.apply(layer, mounts);
      expect(applied.digest).toBe(diffIds[i]);
      uppers.push(upper);
    }
    const merged = join(base, 'merged');
    await mkdir(merged);
    mountOverlay({ lowerdirs: [...uppers].reverse(), target: merged });
    cleanups.push(() => umount(merged));
    expectTree(snapshotTree(merged, { xattrs: true }), expected);
  }, 60_000);
});

describe('apply: compressions and media types', () => {
  const tar = (): Promise<Buffer> => buildTar([
    { header: { name: 'etc/', type: 'directory' } },
    { header: { name: 'etc/motd', mode: 0o644 }, body: 'hello\n' },
  ]);

  it('applies an uncompressed layer', async () => {
    const root = await tempDir();
    cleanups.push(() => removeDir(root));
    const data = await tar();
    const desc = await storeLayer(store, data, { compression: 'none' });
    const applied = await createApplier({ content: store }).apply(desc, [{ type: 'bind', source: root, options: ['rbind'] }]);
    expect(applied).toEqual({ mediaType: MediaType.OciLayer, digest: digestOf(data), size: data.length });
    expect(await readFile(join(root, 'etc/motd'), 'utf8')).toBe('hello\n');
  });

  it.skipIf(!existsSync('/usr/bin/zstd'))('applies a zstd layer', async () => {
    const root = await tempDir();
    cleanups.push(() => removeDir(root));
    const data = await tar();
    const zst = execFileSync('/usr/bin/zstd', ['-q', '-c', '-19'], { input: data });
    const digest = await writeBlob(store, `zstd-${Date.now()}`, zst);
    const desc = { mediaType: MediaType.OciLayerZstd, digest, size: zst.length, annotations: { [Label.Uncompressed]: digestOf(data) } };
    const applied = await createApplier({ content: store }).apply(desc, [{ type: 'bind', source: root, options: ['rbind'] }]);
    expect(applied.digest).toBe(digestOf(data));
    expect(await readFile(join(root, 'etc/motd'), 'utf8')).toBe('hello\n');
  });

  it('refuses a truncated zstd layer with InvalidArgument', async () => {
    const root = await tempDir();
    cleanups.push(() => removeDir(root));
    const data = await tar();
    const zst = execFileSync('/usr/bin/zstd', ['-q', '-c'], { input: data });
    const cut = zst.subarray(0, zst.length - 20);
    const digest = await writeBlob(store, `zstd-cut-${Date.now()}`, cut);
    const desc = { mediaType: MediaType.OciLayerZstd, digest, size: cut.length };
    const err = await createApplier({ content: store }).apply(desc, [{ type: 'bind', source: root, options: [] }]).catch((e: unknown) => e);
    expect(isInvalidArgument(err)).toBe(true);
  });

  it('refuses a non-layer media type with InvalidArgument and an unknown one with NotImplemented', async () => {
    const data = await tar();
    const desc = await storeLayer(store, data, { compression: 'none' });
    const applier = createApplier({ content: store });
    const mounts = [{ type: 'bind', source: work, options: [] }];
    expect(isInvalidArgument(await applier.apply({ ...desc, mediaType: MediaType.OciManifest }, mounts).catch((e: unknown) => e))).toBe(true);
    expect(isNotImplemented(await applier.apply({ ...desc, mediaType: 'application/x-rar' }, mounts).catch((e: unknown) => e))).toBe(true);
  });

  it('checks the diffID annotation: a mismatch is DataLoss', async () => {
    const root = await tempDir();
    cleanups.push(() => removeDir(root));
    const desc = await storeLayer(store, await tar(), { diffId: digestOf('something else') });
    const err = await createApplier({ content: store }).apply(desc, [{ type: 'bind', source: root, options: [] }]).catch((e: unknown) => e);
    expect(isDataLoss(err)).toBe(true);
  });
});
