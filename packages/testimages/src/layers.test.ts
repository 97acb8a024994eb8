import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { MediaType, digestOf } from '@berth/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from './build';
import { BUSYBOX_PATH } from './busybox';
import { bytesContent } from './content';
import { applyLayers, expectedTree, type ExpectedTree } from './expected-tree';
import { BIG_FILE_SIZE } from './layers';
import { hostArchitecture } from './platform';
import { json, readTar, record, sha256, type TarRecord } from './test-support';
import type { BuiltImage, LayerDefinition } from './types';

let dir: string;
let built: BuiltImage;
let layers: Map<string, TarRecord>[];
let tree: ExpectedTree;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-testimages-layers-'));
  built = await buildImage('layers', 'oci', join(dir, 'layers.tar'));
  const archive = await readTar(built.path);
  layers = await Promise.all(built.layers.map((l) => readTar(record(archive, `blobs/sha256/${l.digest.slice(7)}`).data)));
  tree = await expectedTree('layers');
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const allEntries = (): TarRecord[] => layers.flatMap((l) => [...l.values()]);

describe('layers image', () => {
  it('contains every feature an unpacker must handle', () => {
    const entries = allEntries();
    const has = (what: string, pred: (r: TarRecord) => boolean): void => {
      expect(entries.some(pred), what).toBe(true);
    };
    has('whiteout', (r) => posix.basename(r.name).startsWith('.wh.') && r.name !== 'opt/app/data/.wh..wh..opq');
    has('opaque whiteout', (r) => posix.basename(r.name) === '.wh..wh..opq');
    has('hard link', (r) => r.header.type === 'link');
    has('relative symlink', (r) => r.header.type === 'symlink' && !r.header.linkname.startsWith('/'));
    has('relative symlink climbing up', (r) => r.header.type === 'symlink' && r.header.linkname.startsWith('../'));
    has('absolute symlink', (r) => r.header.type === 'symlink' && r.header.linkname.startsWith('/'));
    has('setuid', (r) => (r.header.mode & 0o4000) !== 0);
    has('setgid', (r) => (r.header.mode & 0o2000) !== 0);
    has('sticky 01777', (r) => r.header.type === 'directory' && r.header.mode === 0o1777);
    has('uid/gid 1000', (r) => r.header.uid === 1000 && r.header.gid === 1000);
    has('uid/gid 65534', (r) => r.header.uid === 65534 && r.header.gid === 65534);
    has('xattr via PAX', (r) => (r.header.pax as Record<string, string> | null)?.['SCHILY.xattr.user.berth'] === '1');
    has('file of at least 32 MiB', (r) => r.header.type === 'file' && r.data.length >= BIG_FILE_SIZE);
    const mtimes = new Set(entries.map((r) => r.header.mtime!.getTime()));
    expect(mtimes.size).toBeGreaterThanOrEqual(4);
    expect(built.layers.map((l) => l.mediaType)).toContain(MediaType.OciLayer);
    expect(built.layers.filter((l) => l.mediaType === MediaType.OciLayerGzip).length).toBeGreaterThanOrEqual(2);
    // swap/thing: a file, then a directory, then a file again.
    expect(layers.slice(0, 3).map((l) => record(l, 'swap/thing').header.type)).toEqual(['file', 'directory', 'file']);
    // The big file is not all zeros and compresses, but not to nothing.
    const big = entries.find((r) => r.name === 'data/big.bin')!;
    expect(new Set(big.data.subarray(0, 4096)).size).toBeGreaterThan(8);
    const bigLayer = built.layers[built.layers.length - 1]!;
    expect(bigLayer.size).toBeLessThan(BIG_FILE_SIZE * 0.75);
    expect(bigLayer.size).toBeGreaterThan(BIG_FILE_SIZE * 0.25);
  });

  it('expected tree applies whiteouts, opaque directories and replacements', () => {
    expect(tree['/data/delete-me.txt']).toBeUndefined();
    expect(tree['/opt/legacy']).toBeUndefined();
    expect(tree['/opt/legacy/file.txt']).toBeUndefined();
    expect(Object.keys(tree).filter((p) => p.startsWith('/opt/app/data/'))).toEqual(['/opt/app/data/new.txt']);
    expect(tree['/opt/app/data']).toMatchObject({ type: 'directory', mode: 0o750 });
    expect(Object.keys(tree).some((p) => posix.basename(p).startsWith('.wh.'))).toBe(false);
    expect(tree['/swap/thing']).toMatchObject({ type: 'file', mode: 0o600, sha256: digestOf('layer 3: a file again\n') });
    expect(tree['/swap/thing/inner.txt']).toBeUndefined();
    expect(tree['/data/keep.txt']).toMatchObject({ uid: 1000, gid: 1000, mode: 0o640 });
    expect(tree['/bin']!.mtime).toBe(layers[1]!.get('bin')!.header.mtime!.getTime() / 1000);
    expect(tree['/bin/tool-hardlink']).toEqual({ ...tree['/bin/tool'], hardlinkTo: '/bin/tool' });
    expect(tree['/bin/tool-relative']).toMatchObject({ type: 'symlink', linkname: 'tool' });
    expect(tree['/etc/app-config']).toMatchObject({ type: 'symlink', linkname: '/opt/app/config.txt' });
    expect(tree['/etc/xattr.conf']!.xattrs).toEqual({ 'user.berth': '1' });
    expect(tree['/usr/bin/setuid-tool']!.mode).toBe(0o4755);
    expect(tree['/tmp']!.mode).toBe(0o1777);
    expect(tree['/var/empty']).toMatchObject({ type: 'directory' });
    expect(Object.keys(tree).filter((p) => p.startsWith('/var/empty/'))).toEqual([]);
    expect(tree['/data/big.bin']).toMatchObject({ size: BIG_FILE_SIZE });
    expect(Object.keys(tree)).toEqual(Object.keys(tree).sort());
  });

  it('expected tree agrees with the topmost layer entry of every path', () => {
    for (const [path, node] of Object.entries(tree)) {
      const name = path.slice(1);
      const top = layers.findLast((l) => l.has(name))?.get(name);
      expect(top, path).toBeDefined();
      const header = top!.header;
      if (header.type === 'link') {
        expect(node.hardlinkTo, path).toBe(`/${header.linkname}`);
        continue;
      }
      expect({ type: header.type, mode: header.mode, uid: header.uid, gid: header.gid }, path).toEqual({
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
      });
      expect(header.mtime!.getTime() / 1000, path).toBe(node.mtime);
      if (node.type === 'file') expect(sha256(top!.data), path).toBe(node.sha256);
      if (node.type === 'symlink') expect(header.linkname, path).toBe(node.linkname);
    }
  });

  it('the config names every layer in history and records the host architecture', async () => {
    const archive = await readTar(built.path);
    const config = json(archive, `blobs/sha256/${built.config.digest.slice(7)}`);
    expect(config.history.map((h: { created_by: string }) => h.created_by)).toHaveLength(4);
    expect(config.config.Cmd).toBeUndefined();
    expect(config.architecture).toBe(hostArchitecture());
  });
});

describe('expectedTree(busybox)', () => {
  it('has the binary, applets and special directories', async () => {
    const busybox = await expectedTree('busybox');
    expect(busybox['/bin/busybox']).toMatchObject({ type: 'file', mode: 0o755, sha256: digestOf(await readFile(BUSYBOX_PATH)) });
    expect(busybox['/bin/sh']).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(busybox['/tmp']).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(busybox['/home/user']).toMatchObject({ uid: 1000, gid: 1000 });
  });
});

describe('applyLayers', () => {
  const layer = (...entries: LayerDefinition['entries']): LayerDefinition => ({ createdBy: 't', compression: 'none', entries });
  const dirEntry = (path: string) => ({ path, type: 'directory' as const, mode: 0o755 });
  const fileEntry = (path: string, text = path) => ({ path, type: 'file' as const, mode: 0o644, content: bytesContent(text) });

  it('keeps entries an opaque directory receives in the same layer, before or after the marker', async () => {
    const out = await applyLayers([
      layer(dirEntry('d'), fileEntry('d/old')),
      layer(fileEntry('d/!early'), fileEntry('d/.wh..wh..opq', ''), fileEntry('d/late')),
    ]);
    expect(Object.keys(out)).toEqual(['/d', '/d/!early', '/d/late']);
  });

  it('refuses inconsistent layers', async () => {
    await expect(applyLayers([layer(fileEntry('a/b'))])).rejects.toThrow(/parent a is not a directory/);
    await expect(applyLayers([layer(dirEntry('a'), fileEntry('a/.wh.gone', ''))])).rejects.toThrow(/whiteout .* of missing a\/gone/);
  });

  it('a hard link keeps the old inode when its target is replaced', async () => {
    const out = await applyLayers([
      layer(fileEntry('f', 'one'), { path: 'g', type: 'hardlink', mode: 0o644, linkname: 'f' }),
      layer(fileEntry('f', 'two')),
    ]);
    expect(out['/g']).toMatchObject({ sha256: digestOf('one') });
    expect(out['/g']!.hardlinkTo).toBeUndefined();
    expect(out['/f']).toMatchObject({ sha256: digestOf('two') });
  });
});
