import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MountFlags, UnmountFlags, isSysError, mount, mountOverlay, umount } from './index.js';
import { ADDON, FIXTURES, ROOT_REASON, isRoot, makeTempDir, mountinfo, mountsUnder } from './testing/helpers.js';

let root: string;
const mounted: string[] = [];

function dir(...parts: string[]): string {
  const d = path.join(root, ...parts);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function track(target: string): string {
  mounted.push(target);
  return target;
}

beforeAll(() => {
  root = makeTempDir('mount');
});

afterEach(() => {
  // innermost first; a mount may already be gone
  for (const t of mounted.splice(0).reverse()) {
    while (mountsUnder(t).some((m) => m.mountPoint === t)) umount(t, UnmountFlags.DETACH);
  }
});

afterAll(() => {
  expect(mountsUnder(root)).toEqual([]);
  fs.rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!isRoot)(`mount/umount ${ROOT_REASON}`, () => {
  it('mounts a tmpfs, remounts it read-only, and detaches it', () => {
    const t = track(dir('tmpfs'));
    mount('berth-test-tmpfs', t, 'tmpfs', MountFlags.NOSUID | MountFlags.NODEV, 'size=1m,mode=0755');
    const m = mountinfo().find((e) => e.mountPoint === t);
    expect(m).toMatchObject({ fstype: 'tmpfs', source: 'berth-test-tmpfs' });
    expect(m!.options.split(',')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev']));
    expect(m!.superOptions).toContain('size=1024k');
    fs.writeFileSync(path.join(t, 'f'), 'hello');

    mount(null, t, null, MountFlags.REMOUNT | MountFlags.RDONLY | MountFlags.NOSUID | MountFlags.NODEV, null);
    expect(mountinfo().find((e) => e.mountPoint === t)!.options.split(',')).toContain('ro');
    let err: unknown;
    try {
      fs.writeFileSync(path.join(t, 'g'), 'no');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'EROFS' });
    expect(fs.readFileSync(path.join(t, 'f'), 'utf8')).toBe('hello');

    // busy: an open fd in the mount; DETACH still takes it out of the tree
    const fd = fs.openSync(path.join(t, 'f'), 'r');
    try {
      expect(() => umount(t)).toThrow(expect.objectContaining({ code: 'EBUSY', syscall: 'umount2', path: t }));
      umount(t, UnmountFlags.DETACH);
      expect(mountsUnder(t)).toEqual([]);
      expect(fs.readFileSync(fd, 'utf8')).toBe('hello'); // still readable through the fd
    } finally {
      fs.closeSync(fd);
    }
  });

  it('bind-mounts a directory, read-only with a second remount', () => {
    const src = dir('bind-src');
    fs.writeFileSync(path.join(src, 'a'), 'A');
    const t = track(dir('bind-dst'));
    mount(src, t, null, MountFlags.BIND, null);
    expect(mountinfo().find((e) => e.mountPoint === t)).toBeDefined();
    expect(fs.readFileSync(path.join(t, 'a'), 'utf8')).toBe('A');
    fs.writeFileSync(path.join(t, 'b'), 'B');
    expect(fs.readFileSync(path.join(src, 'b'), 'utf8')).toBe('B');

    mount(null, t, null, MountFlags.REMOUNT | MountFlags.BIND | MountFlags.RDONLY, null);
    expect(() => fs.writeFileSync(path.join(t, 'c'), 'C')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    fs.writeFileSync(path.join(src, 'c'), 'C'); // the source stays writable
    expect(fs.readFileSync(path.join(t, 'c'), 'utf8')).toBe('C');

    mount(null, t, null, MountFlags.PRIVATE, null); // a propagation change takes no source
    umount(t);
    expect(mountsUnder(t)).toEqual([]);
  });

  it('reports ENOENT for a missing target with syscall, path and a Node-like message', () => {
    const missing = path.join(root, 'does-not-exist');
    let err: unknown;
    try {
      mount('tmpfs', missing, 'tmpfs', 0, null);
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, 'ENOENT')).toBe(true);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      code: 'ENOENT',
      errno: 2,
      syscall: 'mount',
      path: missing,
      source: 'tmpfs',
      fstype: 'tmpfs',
      message: `ENOENT: no such file or directory, mount 'tmpfs' -> '${missing}'`,
    });
  });

  it('reports ENODEV (or EINVAL) for an unknown filesystem type', () => {
    const t = dir('badfs');
    let err: unknown;
    try {
      mount('x', t, 'no-such-fs-berth', 0, null);
    } catch (e) {
      err = e;
    }
    expect(isSysError(err)).toBe(true);
    expect(['ENODEV', 'EINVAL']).toContain((err as { code: string }).code);
    expect(err).toMatchObject({ syscall: 'mount', path: t });
    expect(mountsUnder(t)).toEqual([]);
  });

  it('umount of something not mounted is EINVAL', () => {
    const t = dir('not-mounted');
    expect(() => umount(t)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22, syscall: 'umount2', path: t }));
  });
});

describe('argument checking (no syscalls made)', () => {
  it('throws TypeError on wrong argument types instead of crashing', () => {
    expect(() => mount('a', 42 as unknown as string, null, 0, null)).toThrow(TypeError);
    expect(() => mount('a', '/x', null, '1' as unknown as number, null)).toThrow(TypeError);
    expect(() => mount('a', '/x', null, 1.5, null)).toThrow(RangeError);
    expect(() => mount('a', '/x\0y', null, 0, null)).toThrow(TypeError);
    expect(() => umount({} as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => mountOverlay(null as never)).toThrow(TypeError);
    expect(() => mountOverlay({ lowerdirs: [], target: '/x' })).toThrow(TypeError);
    expect(() => mountOverlay({ lowerdirs: ['/a', 3 as unknown as string], target: '/x' })).toThrow(TypeError);
    expect(() => mountOverlay({ lowerdirs: ['/a'], upperdir: '/u', target: '/x' })).toThrow(/upperdir and spec.workdir/);
    expect(() => mountOverlay({ lowerdirs: ['/a'], target: '/x', flags: MountFlags.BIND })).toThrow(TypeError);
  });
});

describe.skipIf(!isRoot)(`mountOverlay ${ROOT_REASON}`, () => {
  function layers(name: string, n: number, longName = false): string[] {
    return Array.from({ length: n }, (_, i) => {
      // i = 0 is the top layer
      const d = dir(name, `${longName ? 'layer-'.padEnd(120, 'x') : 'l'}-${String(i).padStart(3, '0')}`);
      fs.writeFileSync(path.join(d, `only-${i}`), String(i));
      fs.writeFileSync(path.join(d, 'shared'), `from ${i}`);
      return d;
    });
  }

  it('merges 3 lower dirs (top first) with an upper dir that takes the writes', () => {
    const lowers = layers('ov3', 3);
    fs.mkdirSync(path.join(lowers[2]!, 'sub'));
    fs.writeFileSync(path.join(lowers[2]!, 'sub', 'deep'), 'deep');
    const upper = dir('ov3', 'upper');
    const work = dir('ov3', 'work');
    const t = track(dir('ov3', 'merged'));
    mountOverlay({ lowerdirs: lowers, upperdir: upper, workdir: work, target: t, options: ['index=off'] });

    const m = mountinfo().find((e) => e.mountPoint === t)!;
    expect(m).toMatchObject({ fstype: 'overlay', source: 'overlay' });
    expect(fs.readdirSync(t).sort()).toEqual(['only-0', 'only-1', 'only-2', 'shared', 'sub']);
    expect(fs.readFileSync(path.join(t, 'shared'), 'utf8')).toBe('from 0');
    expect(fs.readFileSync(path.join(t, 'sub', 'deep'), 'utf8')).toBe('deep');

    fs.writeFileSync(path.join(t, 'new'), 'new');
    fs.appendFileSync(path.join(t, 'only-2'), '+'); // copy-up
    fs.rmSync(path.join(t, 'only-1'));
    expect(fs.readFileSync(path.join(upper, 'new'), 'utf8')).toBe('new');
    expect(fs.readFileSync(path.join(upper, 'only-2'), 'utf8')).toBe('2+');
    expect(fs.lstatSync(path.join(upper, 'only-1')).isCharacterDevice()).toBe(true); // whiteout 0/0
    expect(fs.readFileSync(path.join(lowers[2]!, 'only-2'), 'utf8')).toBe('2');
    expect(fs.existsSync(path.join(lowers[1]!, 'only-1'))).toBe(true);
  });

  it('mounts a read-only overlay without upper/work, and honours RDONLY/NODEV flags', () => {
    const lowers = layers('ovro', 2);
    const t = track(dir('ovro', 'merged'));
    mountOverlay({ lowerdirs: lowers, target: t, flags: MountFlags.NODEV });
    expect(fs.readFileSync(path.join(t, 'shared'), 'utf8')).toBe('from 0');
    expect(() => fs.writeFileSync(path.join(t, 'x'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(mountinfo().find((e) => e.mountPoint === t)!.options.split(',')).toContain('nodev');
    umount(t);

    const upper = dir('ovro', 'upper');
    const work = dir('ovro', 'work');
    mountOverlay({ lowerdirs: lowers, upperdir: upper, workdir: work, target: t, flags: MountFlags.RDONLY | MountFlags.NOSUID });
    const m = mountinfo().find((e) => e.mountPoint === t)!;
    expect(m.options.split(',')).toEqual(expect.arrayContaining(['ro', 'nosuid']));
    expect(() => fs.writeFileSync(path.join(t, 'x'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });

  it('takes 500 lower dirs with long paths, far beyond the one-page option limit', () => {
    const lowers = layers('ov500', 500, true);
    const bytes = lowers.reduce((n, l) => n + l.length + 1, 0);
    expect(bytes).toBeGreaterThan(16 * 4096);
    const upper = dir('ov500', 'upper');
    const work = dir('ov500', 'work');
    const t = track(dir('ov500', 'merged'));
    mountOverlay({ lowerdirs: lowers, upperdir: upper, workdir: work, target: t });
    const names = fs.readdirSync(t);
    expect(names).toHaveLength(501);
    expect(fs.readFileSync(path.join(t, 'only-499'), 'utf8')).toBe('499');
    expect(fs.readFileSync(path.join(t, 'shared'), 'utf8')).toBe('from 0');
    fs.writeFileSync(path.join(t, 'w'), 'w');
    expect(fs.readdirSync(upper)).toEqual(['w']);
  });

  it('600 lower dirs exceed the kernel limit of 500 layers: EINVAL naming the limit', () => {
    // overlayfs caps a stack at 500 lower layers (OVL_MAX_STACK); the new mount API reports it
    // on the fsconfig() that adds the 501st, and the kernel's own message lands in `detail`.
    const lowers = layers('ov600', 600, true);
    const t = dir('ov600', 'merged');
    let err: unknown;
    try {
      mountOverlay({ lowerdirs: lowers, upperdir: dir('ov600', 'upper'), workdir: dir('ov600', 'work'), target: t });
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, 'EINVAL')).toBe(true);
    expect(err).toMatchObject({ syscall: 'fsconfig', path: lowers[500] });
    expect((err as { detail: string }).detail).toMatch(/too many lower directories, limit is 500/);
    expect((err as Error).message).toMatch(/limit is 500/);
    expect(mountsUnder(t)).toEqual([]);
  });

  it('reports a missing lower dir with its path and the kernel message', () => {
    const good = layers('ovmiss', 1);
    const missing = path.join(root, 'ovmiss', 'nope');
    const t = dir('ovmiss', 'merged');
    let err: unknown;
    try {
      mountOverlay({ lowerdirs: [good[0]!, missing], target: t });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'fsconfig', path: missing });
    expect(mountsUnder(t)).toEqual([]);
  });

  it('rejects an unknown overlay option with EINVAL', () => {
    const lowers = layers('ovopt', 1);
    const t = dir('ovopt', 'merged');
    expect(() => mountOverlay({ lowerdirs: lowers, target: t, options: ['no_such_option=1'] })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'fsconfig', detail: expect.stringMatching(/^overlay option 'no_such_option=1': .*Unknown parameter/) }),
    );
    // conflicts are found at FSCONFIG_CMD_CREATE and logged to dmesg only
    const rw = { upperdir: dir('ovopt', 'upper'), workdir: dir('ovopt', 'work') };
    expect(() => mountOverlay({ lowerdirs: lowers, ...rw, target: t, options: ['userxattr', 'redirect_dir=on'] })).toThrow(
      expect.objectContaining({ code: 'EINVAL', detail: expect.stringMatching(/refused the configuration/) }),
    );
    expect(mountsUnder(t)).toEqual([]);
  });

  it('falls back to mount(2) with an escaped lowerdir= string before Linux 6.8 (forced)', () => {
    const r = dir('legacy');
    const out = JSON.parse(
      execFileSync(process.execPath, [path.join(FIXTURES, 'overlay-legacy.cjs'), ADDON, r], {
        encoding: 'utf8',
        env: { ...process.env, BERTH_SYS_OVERLAY_LEGACY: '1' },
      }),
    ) as { files: string[]; upper: string[]; mountinfo: string[]; tooLong: unknown; error?: string };
    expect(out.error).toBeUndefined();
    expect(out.files).toEqual(['f0', 'f1', 'f2']); // paths with , : and \ survive the option string
    expect(out.upper).toEqual(['new']);
    expect(out.mountinfo[0]).toContain(' - overlay overlay ');
    expect(out.mountinfo[0]).toContain('lowerdir='); // not lowerdir+
    // a string over one page would be cut by mount(2) (losing layers); refused up front instead
    expect(out.tooLong).toMatchObject({ code: 'ENAMETOOLONG', syscall: 'mount' });
    expect(mountsUnder(r)).toEqual([]);
  });
});
