import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as sys from './index.js';
import { makeTempDir } from './testing/helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = makeTempDir('loader');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the package's src/ with no build/ next to it. */
function copyWithoutAddon(name: string): string {
  const src = path.join(tmp, name, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (const f of ['index.ts', 'types.ts']) fs.copyFileSync(path.join(here, f), path.join(src, f));
  return pathToFileURL(path.join(src, 'index.ts')).href;
}

describe('module surface', () => {
  it('exports the functions, constants and isSysError', () => {
    for (const fn of [
      'mount', 'umount', 'mountOverlay', 'mknod', 'mkfifo', 'makedev', 'major', 'minor', 'lsetxattr', 'lgetxattr',
      'llistxattr', 'lremovexattr', 'setChildSubreaper', 'isChildSubreaper', 'pidfdOpen', 'waitPidfd', 'reapAll',
      'pidfdSendSignal', 'fadvise', 'fallocate', 'isSysError', 'loadSys', 'reapPid', 'pipe', 'openPty', 'setWinsize',
      'getWinsize', 'listenUnix', 'receiveFd', 'sendFd',
    ]) {
      expect(typeof (sys as Record<string, unknown>)[fn], fn).toBe('function');
    }
    expect(sys.MountFlags.BIND).toBe(0x1000);
    expect(sys.UnmountFlags.DETACH).toBe(2);
    expect(sys.FileType.FIFO).toBe(0o010000);
  });

  it('the raw binding implements the Sys interface', () => {
    const b: sys.Sys = sys.loadSys();
    expect(Object.keys(b).sort()).toEqual(
      [
        'fadvise', 'fallocate', 'isChildSubreaper', 'lgetxattr', 'llistxattr', 'lremovexattr', 'lsetxattr', 'major', 'makedev',
        'minor', 'mknod', 'mount', 'mountOverlay', 'pidfdOpen', 'pidfdSendSignal', 'reapAll', 'setChildSubreaper', 'umount', 'waitPidfd',
        'reapPid', 'pipe', 'openPty', 'setWinsize', 'getWinsize', 'listenUnix', 'receiveFd', 'sendFd', 'spawn', 'sealedCopy',
      ].sort(),
    );
  });

  it('isSysError checks the shape and optionally the code', () => {
    let err: unknown;
    try {
      sys.llistxattr('/nonexistent/berth');
    } catch (e) {
      err = e;
    }
    expect(sys.isSysError(err)).toBe(true);
    expect(sys.isSysError(err, 'ENOENT')).toBe(true);
    expect(sys.isSysError(err, 'EPERM')).toBe(false);
    expect(sys.isSysError(new Error('x'))).toBe(false);
    expect(sys.isSysError({ code: 'ENOENT', errno: 2, syscall: 'x' })).toBe(false);
    expect(sys.isSysError(undefined)).toBe(false);
  });
});

describe('loading', () => {
  it('imports without the addon and says to build it on first use', async () => {
    const mod = (await import(copyWithoutAddon('noaddon'))) as typeof sys;
    expect(mod.MountFlags.RDONLY).toBe(1); // import alone does not load the addon
    expect(() => mod.makedev(1, 3)).toThrow(/native addon is missing .*run `npm install`/);
  });

  it('refuses to load on a non-Linux platform with a clear Error', async () => {
    const desc = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { ...desc, value: 'darwin' });
    try {
      await expect(import(copyWithoutAddon('darwin'))).rejects.toThrow('@berth/sys supports Linux only (this is darwin)');
    } finally {
      Object.defineProperty(process, 'platform', desc);
    }
    expect(process.platform).toBe('linux');
  });
});
