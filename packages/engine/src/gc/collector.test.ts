import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBlob } from '@berth/content';
import type { Snapshotter } from '@berth/snapshots';
import { digestOf, Label, type Digest } from '@berth/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEngineContext, type EngineContext } from '../context';
import type { Logger } from '../daemon/log';
import { ContentNamespaces } from '../services/content-namespaced';

const isRoot = process.getuid?.() === 0;
const SN = 'native';
const HOUR = 3_600_000;

let dir: string;
let ctx: EngineContext;
let namespaces: ContentNamespaces;
let sn: Snapshotter;
let warnings: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-gc-'));
  warnings = [];
  await mkdir(join(dir, 'root'));
  const log: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
  // No `gc` schedule: collections run only when the test calls collect().
  ctx = openEngineContext({ root: join(dir, 'root'), state: join(dir, 'state'), log });
  namespaces = new ContentNamespaces(ctx.content, ctx.metadata, ctx.gc);
  sn = await ctx.snapshotter(SN);
});

afterEach(async () => {
  await ctx.close();
  await rm(dir, { recursive: true, force: true });
});

const blobFile = (d: Digest) => join(dir, 'root', 'content', 'blobs', 'sha256', d.slice('sha256:'.length));

/** Commits `text` as a blob of `ns` (within `lease` when given), labelled. */
async function blob(ns: string, text: string, labels: Record<string, string> = {}, lease?: string): Promise<Digest> {
  const data = Buffer.from(text);
  return writeBlob(namespaces.store(ns, lease), `w-${text}`, data, { digest: digestOf(data), size: data.length }, { labels });
}

/** A committed snapshot `key` of `ns` on `parent`, with its ownership record. */
async function committed(ns: string, key: string, parent?: string, labels: Record<string, string> = {}): Promise<void> {
  await sn.prepare(`${ns}/tmp-${key}`, parent && `${ns}/${parent}`);
  await sn.commit(`${ns}/${key}`, `${ns}/tmp-${key}`);
  ctx.metadata.snapshots.add(ns, SN, key, labels);
}

/** The backend's snapshot names, sorted. */
async function backend(): Promise<string[]> {
  const names: string[] = [];
  await sn.walk((info) => void names.push(info.name));
  return names.sort();
}

const contentOf = (ns: string) => ctx.metadata.content.list(ns).map((c) => c.digest).sort();
const snapshotsOf = (ns: string) => ctx.metadata.snapshots.list(ns).map((s) => s.key).sort();
const image = (ns: string, name: string, digest: Digest) =>
  ctx.metadata.images.create(ns, { name, target: { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: 10 } });
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe.skipIf(!isRoot)('collectGarbage over a real engine context', () => {
  it('keeps what an image reaches through gc.ref labels and snapshot parents, removes the rest, and all of it once the image goes', async () => {
    await committed('a', 'base');
    await committed('a', 'top', 'base');
    const layer = await blob('a', 'layer');
    const config = await blob('a', 'config', { [`${Label.GcRefSnapshotPrefix}${SN}`]: 'top' });
    const manifest = await blob('a', 'manifest', { 'containerd.io/gc.ref.content.config': config, 'containerd.io/gc.ref.content.l.0': layer });
    const index = await blob('a', 'index', { 'containerd.io/gc.ref.content.m.0': manifest });
    image('a', 'busybox', index);
    const stray = await blob('a', 'stray');
    await committed('a', 'stray-base');
    await committed('a', 'stray-top', 'stray-base');

    const stats = await ctx.gc.collect();
    expect(stats).toMatchObject({ contentRecords: 1, blobs: 1, snapshotRecords: 2, snapshots: 2, errors: 0 });
    expect(contentOf('a')).toEqual([config, index, layer, manifest].sort());
    expect(existsSync(blobFile(stray))).toBe(false);
    expect(existsSync(blobFile(layer))).toBe(true);
    expect(snapshotsOf('a')).toEqual(['base', 'top']);
    expect(await backend()).toEqual(['a/base', 'a/top']);

    ctx.metadata.images.delete('a', 'busybox');
    await ctx.gc.collect();
    expect(contentOf('a')).toEqual([]);
    for (const d of [index, manifest, config, layer]) expect(existsSync(blobFile(d))).toBe(false);
    expect(snapshotsOf('a')).toEqual([]);
    expect(await backend()).toEqual([]);
  });

  it('deletes a shared blob only when no namespace keeps it', async () => {
    const d = await blob('a', 'shared');
    expect(await blob('b', 'shared')).toBe(d);
    image('a', 'held', d);
    await ctx.gc.collect();
    expect(contentOf('a')).toEqual([d]);
    expect(contentOf('b')).toEqual([]); // b's ownership was garbage
    expect(existsSync(blobFile(d))).toBe(true);
    ctx.metadata.images.delete('a', 'held');
    await ctx.gc.collect();
    expect(existsSync(blobFile(d))).toBe(false);
  });

  it('leases protect until they expire; an expired lease is removed; ingests are never touched', async () => {
    ctx.metadata.leases.create('l', { id: 'live', labels: { [Label.GcExpire]: rfc3339(Date.now() + HOUR) } });
    ctx.metadata.leases.create('l', { id: 'old', labels: { [Label.GcExpire]: rfc3339(Date.now() - HOUR) } });
    ctx.metadata.leases.create('l', { id: 'forever' });
    const live = await blob('l', 'live', {}, 'live');
    const old = await blob('l', 'old', {}, 'old');
    const kept = await blob('l', 'kept', {}, 'forever');
    await committed('l', 'leased');
    ctx.metadata.leases.addResource('l', 'live', { type: `snapshots/${SN}`, id: 'leased' });
    const writer = await namespaces.store('l').writer({ ref: 'in-progress', total: 100 });
    await writer.write(Buffer.from('half'));

    const stats = await ctx.gc.collect();
    expect(stats).toMatchObject({ leases: 1, contentRecords: 1 });
    expect(contentOf('l')).toEqual([kept, live].sort());
    expect(existsSync(blobFile(old))).toBe(false);
    expect(snapshotsOf('l')).toEqual(['leased']);
    expect(ctx.metadata.leases.list('l').map((x) => x.id).sort()).toEqual(['forever', 'live']);
    expect((await namespaces.store('l').status('in-progress')).offset).toBe(4);
    await writer.close();
  });

  it('a flat lease (containerd.io/gc.flat) holds its resources but not what their labels reference', async () => {
    ctx.metadata.leases.create('f', { id: 'flat', labels: { [Label.GcFlat]: 'true' } });
    const target = await blob('f', 'target');
    const held = await blob('f', 'held', { 'containerd.io/gc.ref.content': target }, 'flat');
    await ctx.gc.collect();
    expect(contentOf('f')).toEqual([held]);
  });

  it('keeps gc.root content and snapshots, what they reference, and a container snapshot with its parents', async () => {
    const referenced = await blob('r', 'referenced');
    const root = await blob('r', 'root', { [Label.GcRoot]: 'now', 'containerd.io/gc.ref.content.x': referenced });
    const loose = await blob('r', 'loose');
    await committed('r', 'pinned', undefined, { [Label.GcRoot]: 'now' });
    await committed('r', 'image-top');
    await sn.prepare('r/rootfs', 'r/image-top');
    ctx.metadata.snapshots.add('r', SN, 'rootfs');
    ctx.metadata.containers.create('r', {
      id: 'c1',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: new Uint8Array() },
      snapshotter: SN,
      snapshotKey: 'rootfs',
    });
    await ctx.gc.collect();
    expect(contentOf('r')).toEqual([referenced, root].sort());
    expect(existsSync(blobFile(loose))).toBe(false);
    expect(snapshotsOf('r')).toEqual(['image-top', 'pinned', 'rootfs']);

    ctx.metadata.containers.delete('r', 'c1');
    await ctx.gc.collect();
    expect(snapshotsOf('r')).toEqual(['pinned']);
    expect(await backend()).toEqual(['r/pinned']);
  });

  it('removes orphans on disk, logs what it cannot do, and goes on with the rest', async () => {
    const orphan = await writeBlob(ctx.content, 'direct', Buffer.from('orphan'));
    await sn.prepare('o/orphan-snapshot');
    ctx.metadata.snapshots.add('o', SN, 'no-backend'); // a crash between record and backend
    ctx.metadata.snapshots.add('o', 'zfs', 'unknown'); // a snapshotter berthd cannot open
    const garbage = await blob('o', 'garbage');

    const stats = await ctx.gc.collect();
    expect(stats).toMatchObject({ blobs: 2, snapshots: 1, snapshotRecords: 1, contentRecords: 1, errors: 1 });
    expect(existsSync(blobFile(orphan))).toBe(false);
    expect(existsSync(blobFile(garbage))).toBe(false);
    expect(await backend()).toEqual([]);
    expect(snapshotsOf('o')).toEqual(['unknown']); // its parents are unknown: kept
    expect(warnings).toEqual([expect.stringMatching(/^gc: snapshotter zfs \(its snapshots are kept\): .*not loaded/)]);
  });
});
