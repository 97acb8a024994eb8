import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind } from '@berth/errdefs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountAll, unmountAll, withMounts } from './mount';
import { parseMountOptions, parseOverlayOptions } from './mount-options';
import { MountFlags as F } from './sys';
import { expectKind, isRoot, mountsUnder, readTree } from './testsuite';

describe('parseMountOptions', () => {
  it.each([
    [['rw', 'rbind'], F.BIND | F.REC, 0, []],
    [['ro', 'bind'], F.RDONLY | F.BIND, 0, []],
    [['ro', 'rw'], 0, 0, []],
    [['nosuid', 'nodev', 'noexec', 'relatime'], F.NOSUID | F.NODEV | F.NOEXEC | F.RELATIME, 0, []],
    [['nosuid', 'suid', 'defaults'], 0, 0, []],
    [['size=64m', 'mode=1777', 'nodev'], F.NODEV, 0, ['size=64m', 'mode=1777']],
    [['rbind', 'rprivate'], F.BIND | F.REC, F.PRIVATE | F.REC, []],
    [['shared'], 0, F.SHARED, []],
    [['index=off', 'lowerdir=/a:/b', ''], 0, 0, ['index=off', 'lowerdir=/a:/b']],
  ])('%j', (options, flags, propagation, data) => {
    expect(parseMountOptions(options)).toEqual({ flags, propagation, data });
  });

  it('loop devices are NotImplemented', async () => {
    await expectKind(() => parseMountOptions(['loop']), ErrorKind.NotImplemented);
  });

  it('overlay options: lower dirs top first, escaped colons, the rest kept in order', () => {
    expect(parseOverlayOptions(['index=off', 'workdir=/w', 'upperdir=/u', 'lowerdir=/l1:/l\\:2', 'userxattr'])).toEqual({
      lowerdirs: ['/l1', '/l:2'],
      upperdir: '/u',
      workdir: '/w',
      rest: ['index=off', 'userxattr'],
    });
  });
});

describe.skipIf(!isRoot)('mountAll, unmountAll, withMounts (root)', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-mount-test-'));
  });
  afterEach(async () => {
    const leaked = await mountsUnder(base);
    for (const m of leaked.reverse()) await unmountAll(m);
    await rm(base, { recursive: true, force: true });
    expect(leaked).toEqual([]);
  });

  it('bind ro is read-only; bind rw is writable', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    await withMounts([{ type: 'bind', source: src, options: ['ro', 'rbind'] }], async (dir) => {
      expect(await readTree(dir)).toEqual({ f: 'x' });
      await expect(writeFile(join(dir, 'g'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
    }, { tmpdir: base });
    await withMounts([{ type: 'bind', source: src, options: ['rw', 'rbind'] }], (dir) => writeFile(join(dir, 'g'), 'y'), {
      tmpdir: base,
    });
    expect(await readdir(src)).toEqual(['f', 'g']);
  });

  it('tmpfs with data options, stacked mounts, and unmountAll removes them all', async () => {
    const target = join(base, 't');
    await mkdir(target);
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['nodev', 'size=1m', 'mode=700'] }], target);
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }], target);
    expect(await mountsUnder(target)).toHaveLength(2);
    await unmountAll(target);
    expect(await mountsUnder(target)).toEqual([]);
    await unmountAll(target); // nothing mounted: fine
    await unmountAll(join(base, 'missing'));
  });

  it('a busy mount is detached after retries', async () => {
    const target = join(base, 'busy');
    await mkdir(target);
    await mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }], target);
    const fh = await open(join(target, 'held'), 'w');
    try {
      await unmountAll(target);
      expect(await mountsUnder(target)).toEqual([]);
    } finally {
      await fh.close();
    }
  });

  it('a failing mount undoes the earlier ones', async () => {
    const target = join(base, 't');
    await mkdir(target);
    const bad = { type: 'bind', source: join(base, 'does-not-exist'), options: ['rbind'] };
    await expect(mountAll([{ type: 'tmpfs', source: 'tmpfs', options: [] }, bad], target)).rejects.toThrow();
    expect(await mountsUnder(target)).toEqual([]);
  });

  it('withMounts unmounts and removes its dir when fn throws', async () => {
    let seen = '';
    await expect(
      withMounts([{ type: 'tmpfs', source: 'tmpfs', options: [] }], (dir) => {
        seen = dir;
        throw new Error('boom');
      }, { tmpdir: base }),
    ).rejects.toThrow('boom');
    expect(existsSync(seen)).toBe(false);
  });

  it('an overlay of 200 lower dirs mounts, past the one-page option limit', async () => {
    const lowers: string[] = [];
    for (let i = 0; i < 200; i++) {
      const d = join(base, 'layers', `layer-with-a-long-name-${String(i).padStart(4, '0')}`);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, `f${i}`), String(i));
      lowers.push(d);
    }
    const option = `lowerdir=${lowers.reverse().join(':')}`;
    expect(option.length).toBeGreaterThan(4096);
    const tree = await withMounts([{ type: 'overlay', source: 'overlay', options: ['index=off', option] }], readTree, {
      tmpdir: base,
    });
    expect(Object.keys(tree)).toHaveLength(200);
  });

  it('mount targets must stay inside the target dir', async () => {
    await expectKind(
      mountAll([{ type: 'tmpfs', source: 'tmpfs', target: '../escape', options: [] }], join(base, 't')),
      ErrorKind.InvalidArgument,
    );
  });
});
