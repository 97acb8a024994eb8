import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTree, type ExpectedNode, type ExpectedTree } from './expected-tree';
import type { ImageName } from './types';
import { writeRootfs } from './write-rootfs';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-testimages-rootfs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function walk(root: string, at = root, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(at, { withFileTypes: true })) {
    const path = join(at, entry.name);
    out.push(`/${relative(root, path)}`);
    if (entry.isDirectory()) await walk(root, path, out);
  }
  return out;
}

async function actualNode(path: string, inodes: Map<number, string>, name: string): Promise<ExpectedNode> {
  const st = await lstat(path);
  const type = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file';
  const node: ExpectedNode = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), size: type === 'file' ? st.size : 0 };
  if (type === 'symlink') {
    node.mode = 0o777;
    node.linkname = await readlink(path);
  }
  if (type === 'file') {
    node.sha256 = `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}` as const;
    const first = inodes.get(st.ino);
    if (first) node.hardlinkTo = first;
    else inodes.set(st.ino, name);
  }
  return node;
}

describe.each<ImageName>(['busybox', 'layers'])('writeRootfs(%s)', (name) => {
  it('writes exactly the expected tree (without xattrs)', async () => {
    const root = join(dir, name);
    await writeRootfs(name, root);
    const expected: ExpectedTree = await expectedTree(name);
    const paths = (await walk(root)).sort();
    expect(paths).toEqual(Object.keys(expected));
    const inodes = new Map<number, string>();
    for (const path of paths) {
      const { xattrs: _ignored, ...want } = expected[path]!;
      if (want.type === 'symlink') want.mode = 0o777;
      expect(await actualNode(join(root, path), inodes, path), path).toEqual(want);
    }
  }, 60_000);
});
