import { chmodSync, cpSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBlob } from '@berth/content';
import { digestOf, Label, MediaType, type Descriptor } from '@berth/spec';
import { lgetxattr, lsetxattr, makedev, mknod } from '@berth/sys';
import { testImage } from '@berth/testimages';
import { gunzipSync } from 'node:zlib';
import { createApplier } from './apply';
import { createComparer } from './compare';
import { readTar } from './tar-reader';
import { importArchiveBlobs, snapshotTree, useWorkDir, type NodeSnapshot } from './test-support';

const fx = useWorkDir();

const bind = (source: string) => [{ type: 'bind', source, options: ['rbind', 'rw'] }];

/** The entry names of a layer blob, in order. */
async function layerNames(desc: Descriptor): Promise<string[]> {
  const blob = await readBlob(fx.store, desc);
  const tar = desc.mediaType === MediaType.OciLayerGzip ? gunzipSync(blob) : blob;
  const names: string[] = [];
  await readTar((async function* () { yield tar; })(), (e) => void names.push(e.name));
  return names;
}

/** A tree without inode numbers (hard links shown as groups) and without the root itself. */
function portable(tree: Record<string, NodeSnapshot>): Record<string, unknown> {
  const firstOfInode = new Map<number, string>();
  const out: Record<string, unknown> = {};
  for (const [path, { ino, ...rest }] of Object.entries(tree)) {
    if (path === '/') continue;
    const first = rest.type === 'file' && rest.nlink > 1 ? firstOfInode.get(ino) : undefined;
    if (rest.type === 'file' && rest.nlink > 1 && !first) firstOfInode.set(ino, path);
    out[path] = { ...rest, ...(first && { hardlinkTo: first }) };
  }
  return out;
}

describe('compare', () => {
  it('round trip: compare(empty, tree) then apply onto an empty dir gives the same tree, deterministically', async () => {
    const source = join(fx.work, 'rt-source');
    mkdirSync(source);
    const image = await testImage('layers', 'oci');
    await importArchiveBlobs(fx.store, image.path);
    const applier = createApplier({ content: fx.store });
    for (const layer of image.layers) await applier.apply(layer, bind(source));
    // Extra cases the image lacks: a binary xattr (security.capability: cap_setuid, byte 0x80),
    // a device node and a FIFO.
    writeFileSync(join(source, 'data/cap-tool'), 'caps\n');
    const cap = Buffer.from([1, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    lsetxattr(join(source, 'data/cap-tool'), 'security.capability', cap);
    mknod(join(source, 'data/null'), 0o020666, makedev(1, 3));
    mknod(join(source, 'data/fifo'), 0o010644, 0);
    chmodSync(join(source, 'data/fifo'), 0o644);

    const comparer = createComparer({ content: fx.store });
    const desc = await comparer.compare([], bind(source));
    const again = await comparer.compare([], bind(source), { ref: 'second-run' });
    expect(again.digest).toBe(desc.digest);
    expect(desc.mediaType).toBe(MediaType.OciLayerGzip);
    const info = await fx.store.info(desc.digest);
    expect(info.labels[Label.Uncompressed]).toBe(digestOf(gunzipSync(await readBlob(fx.store, desc))));

    const target = join(fx.work, 'rt-target');
    mkdirSync(target);
    const applied = await applier.apply({ ...desc, annotations: { [Label.Uncompressed]: info.labels[Label.Uncompressed]! } }, bind(target));
    expect(applied.digest).toBe(info.labels[Label.Uncompressed]);
    expect(portable(snapshotTree(target, { xattrs: true }))).toEqual(portable(snapshotTree(source, { xattrs: true })));
    expect(lgetxattr(join(target, 'data/cap-tool'), 'security.capability')).toEqual(cap);
  }, 60_000);

  it('an overlay upper with a deletion and an opaque directory gives the right whiteouts', async () => {
    const base = join(fx.work, 'ovl');
    const lower = join(base, 'lower');
    const upper = join(base, 'upper');
    mkdirSync(join(lower, 'a'), { recursive: true });
    mkdirSync(join(lower, 'b'), { recursive: true });
    writeFileSync(join(lower, 'a/x'), 'x');
    writeFileSync(join(lower, 'b/y'), 'y');
    writeFileSync(join(lower, 'c.txt'), 'c');
    mkdirSync(join(upper, 'b'), { recursive: true });
    mkdirSync(join(base, 'work'));
    mknod(join(upper, 'c.txt'), 0o020000, 0);
    lsetxattr(join(upper, 'b'), 'trusted.overlay.opaque', 'y');
    writeFileSync(join(upper, 'b/z'), 'z');
    const overlay = [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${join(base, 'work')}`] }];

    const desc = await createComparer({ content: fx.store }).compare(bind(lower), overlay, { mediaType: MediaType.OciLayer });
    expect(await layerNames(desc)).toEqual(['b/', 'b/.wh..wh..opq', 'b/z', '.wh.c.txt']);

    // Applied onto a copy of lower, it gives the merged tree.
    const copy = join(base, 'copy');
    cpSync(lower, copy, { recursive: true });
    await createApplier({ content: fx.store }).apply(desc, bind(copy));
    expect(Object.keys(snapshotTree(copy)).sort()).toEqual(['/', '/a', '/a/x', '/b', '/b/z']);
  });

  it('walks two plain trees: additions, changes, deletions and hard links', async () => {
    const base = join(fx.work, 'walk');
    const lower = join(base, 'lower');
    mkdirSync(join(lower, 'keep'), { recursive: true });
    writeFileSync(join(lower, 'keep/same'), 'same');
    writeFileSync(join(lower, 'keep/changed'), 'old');
    writeFileSync(join(lower, 'gone'), 'gone');
    mkdirSync(join(lower, 'gone-dir/sub'), { recursive: true });
    const upper = join(base, 'upper');
    cpSync(lower, upper, { recursive: true, preserveTimestamps: true });
    writeFileSync(join(upper, 'keep/changed'), 'new');
    rmSync(join(upper, 'gone'));
    rmSync(join(upper, 'gone-dir'), { recursive: true });
    writeFileSync(join(upper, 'added'), 'added');
    linkSync(join(upper, 'added'), join(upper, 'added-link'));

    const desc = await createComparer({ content: fx.store }).compare(bind(lower), bind(upper));
    const names = await layerNames(desc);
    expect(names).toEqual(expect.arrayContaining(['.wh.gone', '.wh.gone-dir', 'added', 'added-link', 'keep/changed']));
    expect(names).not.toContain('keep/same');

    const copy = join(base, 'copy');
    cpSync(lower, copy, { recursive: true, preserveTimestamps: true });
    await createApplier({ content: fx.store }).apply(desc, bind(copy));
    const tree = portable(snapshotTree(copy));
    const want = portable(snapshotTree(upper));
    for (const t of [tree, want]) for (const p of ['/', '/keep']) delete t[p];
    expect(tree).toEqual(want);
  });
});
