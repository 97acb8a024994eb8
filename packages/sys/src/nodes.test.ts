import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileType,
  XattrFlags,
  isSysError,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  major,
  makedev,
  minor,
  mkfifo,
  mknod,
} from './index.js';
import { ROOT_REASON, isRoot, makeTempDir } from './testing/helpers.js';

let root: string;
beforeAll(() => {
  root = makeTempDir('nodes');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('makedev/major/minor', () => {
  it('round-trips small and large numbers like glibc', () => {
    expect(makedev(1, 3)).toBe(0x103);
    expect(makedev(8, 17)).toBe(2065);
    for (const [ma, mi] of [
      [0, 0],
      [1, 3],
      [259, 65536],
      [4095, 1048575], // the kernel's own 12/20-bit limits
      [4096, 1048576],
      [0x1fffff, 0xffffffff], // as far as a JS number stays exact
    ] as const) {
      const dev = makedev(ma, mi);
      expect(Number.isSafeInteger(dev)).toBe(true);
      expect([major(dev), minor(dev)]).toEqual([ma, mi]);
    }
  });

  it('refuses values that would not fit a JS number exactly, and bad types', () => {
    expect(() => makedev(0xffffffff, 0)).toThrow(RangeError);
    expect(() => makedev(-1, 0)).toThrow(RangeError);
    expect(() => makedev('1' as unknown as number, 0)).toThrow(TypeError);
    expect(() => major(Number.MAX_SAFE_INTEGER + 2)).toThrow(RangeError);
  });
});

describe('mknod/mkfifo', () => {
  it.skipIf(!isRoot)(`creates a character device 0/0 ${ROOT_REASON}`, () => {
    const p = path.join(root, 'whiteout');
    mknod(p, FileType.CHR | 0o600, makedev(0, 0));
    const st = fs.lstatSync(p);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(st.mode & 0o7777).toBe(0o600);

    const q = path.join(root, 'null');
    mknod(q, FileType.CHR | 0o666, makedev(1, 3));
    const sq = fs.lstatSync(q);
    expect(sq.isCharacterDevice()).toBe(true);
    expect([major(sq.rdev), minor(sq.rdev)]).toEqual([1, 3]);

    const b = path.join(root, 'blk');
    mknod(b, FileType.BLK | 0o600, makedev(259, 70000));
    const sb = fs.lstatSync(b);
    expect(sb.isBlockDevice()).toBe(true);
    expect([major(sb.rdev), minor(sb.rdev)]).toEqual([259, 70000]);
  });

  it('creates a FIFO (umask applies, like the syscall)', () => {
    const p = path.join(root, 'fifo');
    const old = process.umask(0o022);
    try {
      mkfifo(p, 0o666);
    } finally {
      process.umask(old);
    }
    const st = fs.lstatSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o644);
    expect(() => mkfifo(p, 0o600)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'mknod', path: p }));
    expect(() => mkfifo(path.join(root, 'x'), FileType.CHR)).toThrow(RangeError);
    expect(() => mknod(path.join(root, 'nodir', 'f'), FileType.FIFO | 0o600, 0)).toThrow(
      expect.objectContaining({ code: 'ENOENT', message: `ENOENT: no such file or directory, mknod '${path.join(root, 'nodir', 'f')}'` }),
    );
  });
});

describe('xattrs', () => {
  it('sets, gets, lists and removes user.* on a file', () => {
    const f = path.join(root, 'file');
    fs.writeFileSync(f, '');
    expect(lgetxattr(f, 'user.absent')).toBeUndefined();
    lsetxattr(f, 'user.text', 'héllo');
    lsetxattr(f, 'user.bin', new Uint8Array([0, 1, 2, 255]));
    lsetxattr(f, 'user.empty', '');
    expect(lgetxattr(f, 'user.text')!.toString('utf8')).toBe('héllo');
    expect(Buffer.isBuffer(lgetxattr(f, 'user.bin'))).toBe(true);
    expect([...lgetxattr(f, 'user.bin')!]).toEqual([0, 1, 2, 255]);
    expect(lgetxattr(f, 'user.empty')!.length).toBe(0);
    expect(llistxattr(f).sort()).toEqual(['user.bin', 'user.empty', 'user.text']);

    expect(() => lsetxattr(f, 'user.text', 'x', XattrFlags.CREATE)).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'lsetxattr', path: f }),
    );
    expect(() => lsetxattr(f, 'user.nope', 'x', XattrFlags.REPLACE)).toThrow(expect.objectContaining({ code: 'ENODATA' }));

    lremovexattr(f, 'user.text');
    lremovexattr(f, 'user.text'); // absent: no error
    expect(lgetxattr(f, 'user.text')).toBeUndefined();
    expect(llistxattr(f).sort()).toEqual(['user.bin', 'user.empty']);

    const big = Buffer.alloc(3000, 7); // larger than the first guess would be if we had one
    lsetxattr(f, 'user.big', big);
    expect(lgetxattr(f, 'user.big')!.equals(big)).toBe(true);
  });

  it.skipIf(!isRoot)(`works on a symlink itself with trusted.*; user.* there is EPERM ${ROOT_REASON}`, () => {
    const target = path.join(root, 'target');
    fs.writeFileSync(target, '');
    const link = path.join(root, 'link');
    fs.symlinkSync('target', link);

    lsetxattr(link, 'trusted.overlay.opaque', 'y');
    expect(lgetxattr(link, 'trusted.overlay.opaque')!.toString()).toBe('y');
    expect(llistxattr(link)).toEqual(['trusted.overlay.opaque']);
    expect(llistxattr(target)).toEqual([]); // not followed
    expect(lgetxattr(target, 'trusted.overlay.opaque')).toBeUndefined();

    // the kernel allows user.* only on regular files and directories (xattr(7))
    let err: unknown;
    try {
      lsetxattr(link, 'user.x', 'v');
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, 'EPERM')).toBe(true);
    expect(err).toMatchObject({ syscall: 'lsetxattr', path: link, detail: 'user.x' });
    expect(lgetxattr(link, 'user.x')).toBeUndefined();

    lremovexattr(link, 'trusted.overlay.opaque');
    expect(llistxattr(link)).toEqual([]);
  });

  it('reports a missing path and an unknown namespace', () => {
    const missing = path.join(root, 'missing');
    expect(() => lgetxattr(missing, 'user.a')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'lgetxattr' }));
    expect(() => llistxattr(missing)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'llistxattr', path: missing }));
    expect(() => lremovexattr(missing, 'user.a')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const f = path.join(root, 'file2');
    fs.writeFileSync(f, '');
    // a name without a known namespace prefix: EOPNOTSUPP, which Node (and this addon) call ENOTSUP
    expect(() => lsetxattr(f, 'bogus.x', 'v')).toThrow(expect.objectContaining({ code: 'ENOTSUP', errno: 95 }));
    expect(() => lsetxattr(f, 'user.x', 5 as unknown as string)).toThrow(TypeError);
    expect(() => lsetxattr(f, 'user.x', new Uint16Array(2) as unknown as Uint8Array)).toThrow(TypeError);
  });
});
