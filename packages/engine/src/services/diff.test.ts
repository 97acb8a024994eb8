import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { contentService, diffService, snapshotsService, type types } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection, createGrpcClient, type GrpcClient, type TestEngine } from '../testing';
import { startImagesTestEngine } from './images-test-engine';

const isRoot = process.getuid?.() === 0;
const NS = 'diff';
const TAR = 'application/vnd.oci.image.layer.v1.tar';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

let engine: TestEngine;
let diff: GrpcClient<(typeof diffService.Diff)['methods']>;
let snapshots: GrpcClient<(typeof snapshotsService.Snapshots)['methods']>;
let content: GrpcClient<(typeof contentService.Content)['methods']>;

beforeAll(async () => {
  engine = await startImagesTestEngine();
  diff = createGrpcClient(engine.address, diffService.Diff, { namespace: NS });
  snapshots = createGrpcClient(engine.address, snapshotsService.Snapshots, { namespace: NS });
  content = createGrpcClient(engine.address, contentService.Content, { namespace: NS });
});

afterAll(async () => {
  diff?.close();
  snapshots?.close();
  content?.close();
  await engine?.stop();
});


const prepare = async (key: string, parent = '') => (await snapshots.prepare({ snapshotter: 'overlayfs', key, parent, labels: {} })).mounts;
const view = async (key: string, parent: string) => (await snapshots.view({ snapshotter: 'overlayfs', key, parent, labels: {} })).mounts;
const commit = (name: string, key: string) => snapshots.commit({ snapshotter: 'overlayfs', name, key, labels: {} });

/** Where a snapshot's mounts put new files: a bind mount's source or an overlay's upperdir. */
function writableDir(mounts: types.Mount[]): string {
  const [m] = mounts;
  if (!m) throw new Error('no mounts');
  if (m.type === 'bind') return m.source;
  const upper = m.options.find((o) => o.startsWith('upperdir='));
  if (!upper) throw new Error(`no upperdir in ${JSON.stringify(m)}`);
  return upper.slice('upperdir='.length);
}

describe.skipIf(!isRoot)('Diff over gRPC', () => {
  it('writes layers with Diff and applies them with Apply, whiteouts included', async () => {
    // A base tree in a fresh snapshot.
    const base = await prepare('base');
    const baseDir = writableDir(base);
    await writeFile(join(baseDir, 'hello.txt'), 'hello\n');
    await mkdir(join(baseDir, 'dir'));
    await writeFile(join(baseDir, 'dir', 'a'), 'a');

    const d1 = (await diff.diff({ left: [], right: base, mediaType: GZIP, ref: 'my-diff', labels: { team: 'berth' } })).diff!;
    expect(d1).toMatchObject({ mediaType: GZIP, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(d1.size).toBeGreaterThan(0);
    const info1 = (await content.info({ digest: d1.digest })).info!;
    expect(info1.size).toBe(d1.size);
    expect(info1.labels).toMatchObject({ team: 'berth', 'containerd.io/uncompressed': expect.stringMatching(/^sha256:/) });
    // Written into the call's namespace only.
    expect(kindOf(await rejection(content.info({ digest: d1.digest }, { namespace: 'elsewhere' })))).toBe(ErrorKind.NotFound);

    // The changes on top of it, through an overlay: a deletion and an addition.
    await commit('base-c', 'base');
    const up = await prepare('up', 'base-c');
    expect(up[0]!.type).toBe('overlay');
    const lower = await view('base-v', 'base-c');
    // The comparer reads an overlay's upperdir alone: a new file there is the whole change.
    const upDir = writableDir(up);
    await writeFile(join(upDir, 'new.txt'), 'new');
    const d2 = (await diff.diff({ left: lower, right: up, mediaType: TAR, ref: '', labels: {} })).diff!;
    expect(d2.mediaType).toBe(TAR);
    const info2 = (await content.info({ digest: d2.digest })).info!;
    expect(info2.labels['containerd.io/uncompressed']).toBe(d2.digest); // uncompressed: its own diffID

    // Apply d1 onto a new snapshot (bind mount), then d2 on top (overlay upperdir).
    const x1 = await prepare('x1');
    const applied1 = (await diff.apply({ diff: d1, mounts: x1, payloads: {} })).applied!;
    expect(applied1).toEqual({ mediaType: TAR, digest: info1.labels['containerd.io/uncompressed'], size: expect.any(Number), annotations: {} });
    expect(applied1.size % 512).toBe(0); // a tar stream
    expect(await readFile(join(writableDir(x1), 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(writableDir(x1), 'dir', 'a'), 'utf8')).toBe('a');
    await commit('x1-c', 'x1');
    const x2 = await prepare('x2', 'x1-c');
    const applied2 = (await diff.apply({ diff: d2, mounts: x2, payloads: {} })).applied!;
    expect(applied2).toMatchObject({ mediaType: TAR, digest: d2.digest, size: d2.size });
    expect(await readFile(join(writableDir(x2), 'new.txt'), 'utf8')).toBe('new');

    // Applying a layer that carries its diffID checks it: a wrong one is DataLoss.
    const x3 = await prepare('x3');
    const wrong = { ...d1, annotations: { 'containerd.io/uncompressed': d2.digest } };
    expect(kindOf(await rejection(diff.apply({ diff: wrong, mounts: x3, payloads: {} })))).toBe(ErrorKind.DataLoss);
    const right = { ...d1, annotations: { 'containerd.io/uncompressed': applied1.digest } };
    const x4 = await prepare('x4');
    expect((await diff.apply({ diff: right, mounts: x4, payloads: {} })).applied!.digest).toBe(applied1.digest);
  });

  it('applies a deletion as an overlay whiteout', async () => {
    const a = await prepare('wa');
    await writeFile(join(writableDir(a), 'gone.txt'), 'x');
    await commit('wa-c', 'wa');
    const b = await prepare('wb', 'wa-c');
    // A layer deleting gone.txt: the comparer walks both trees (left has it, right does not).
    const left = await view('wl', 'wa-c');
    const rightDir = writableDir(await prepare('wr'));
    await writeFile(join(rightDir, 'kept.txt'), 'k');
    const right = (await snapshots.mounts({ snapshotter: 'overlayfs', key: 'wr' })).mounts;
    const layer = (await diff.diff({ left, right, mediaType: TAR, ref: '', labels: {} })).diff!;
    await diff.apply({ diff: layer, mounts: b, payloads: {} });
    // On the overlay's upperdir, the deletion is an overlay whiteout: a 0/0 char device.
    const whiteout = await lstat(join(writableDir(b), 'gone.txt'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    expect(await readFile(join(writableDir(b), 'kept.txt'), 'utf8')).toBe('k');
  });

  it('refuses blobs the namespace does not own, bad descriptors, and missing mounts', async () => {
    const base = await prepare('own');
    await writeFile(join(writableDir(base), 'f'), 'f');
    const layer = (await diff.diff({ left: [], right: base, mediaType: GZIP, ref: '', labels: {} })).diff!;

    const other = await snapshots.prepare({ snapshotter: 'overlayfs', key: 'o', parent: '', labels: {} }, { namespace: 'other' });
    const err = await rejection(diff.apply({ diff: layer, mounts: other.mounts, payloads: {} }, { namespace: 'other' }));
    expect(kindOf(err)).toBe(ErrorKind.NotFound);

    const target = await prepare('bad');
    expect(kindOf(await rejection(diff.apply({ diff: { ...layer, digest: 'nope' }, mounts: target, payloads: {} })))).toBe(ErrorKind.InvalidArgument);
    expect(kindOf(await rejection(diff.apply({ mounts: target, payloads: {} })))).toBe(ErrorKind.InvalidArgument);
    expect(kindOf(await rejection(diff.apply({ diff: { ...layer, mediaType: 'application/vnd.oci.image.config.v1+json' }, mounts: target, payloads: {} })))).toBe(
      ErrorKind.InvalidArgument,
    );
    expect(kindOf(await rejection(diff.diff({ left: [], right: [], mediaType: '', ref: '', labels: {} })))).toBe(ErrorKind.InvalidArgument);
    expect(kindOf(await rejection(diff.apply({ diff: layer, mounts: [], payloads: {} })))).not.toBe(ErrorKind.Unknown);
    expect(kindOf(await rejection(diff.apply({ diff: layer, mounts: target, payloads: {} }, { namespace: '' })))).toBe(ErrorKind.FailedPrecondition);
  });
});
