import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FadviseAdvice, FallocateMode, fadvise, fallocate, isSysError } from './index';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sys-fadvise-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Bytes of `file` in the page cache, from util-linux's fincore. */
function cachedBytes(file: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' }).trim());
}

describe('fadvise', () => {
  it.skipIf(!fs.existsSync('/usr/bin/fincore'))('DONTNEED drops the clean cached pages of a range', () => {
    const file = path.join(dir, 'data');
    const fd = fs.openSync(file, 'w+');
    try {
      fs.writeSync(fd, Buffer.alloc(8 << 20, 7));
      fs.fdatasyncSync(fd);
      expect(cachedBytes(file)).toBe(8 << 20);
      fadvise(fd, 0, 4 << 20, FadviseAdvice.DONTNEED);
      expect(cachedBytes(file)).toBe(4 << 20);
      fadvise(fd, 0, 0, FadviseAdvice.DONTNEED);
      expect(cachedBytes(file)).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('reports a bad fd as EBADF and bad arguments as RangeError', () => {
    const fd = fs.openSync(path.join(dir, 'closed'), 'w');
    fs.closeSync(fd);
    let caught: unknown;
    try {
      fadvise(fd, 0, 0, FadviseAdvice.NORMAL);
    } catch (err) {
      caught = err;
    }
    expect(isSysError(caught, 'EBADF')).toBe(true);
    expect(() => fadvise(0, 0, 0, 9)).toThrow(RangeError);
    expect(() => fadvise(0, -1, 0, 0)).toThrow(RangeError);
  });
});

describe('fallocate', () => {
  it('KEEP_SIZE allocates blocks past the end without changing the size', () => {
    const file = path.join(dir, 'prealloc');
    const fd = fs.openSync(file, 'w+');
    try {
      fs.writeSync(fd, Buffer.from('hello'));
      fallocate(fd, FallocateMode.KEEP_SIZE, 0, 8 << 20);
      const st = fs.fstatSync(fd);
      expect(st.size).toBe(5);
      expect(st.blocks * 512).toBeGreaterThanOrEqual(8 << 20);
      fallocate(fd, 0, 0, 1 << 20);
      expect(fs.fstatSync(fd).size).toBe(1 << 20);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('rejects a zero length and reports a bad fd as EBADF', () => {
    expect(() => fallocate(0, 0, 0, 0)).toThrow(RangeError);
    const fd = fs.openSync(path.join(dir, 'closed2'), 'w');
    fs.closeSync(fd);
    let caught: unknown;
    try {
      fallocate(fd, 0, 0, 4096);
    } catch (err) {
      caught = err;
    }
    expect(isSysError(caught, 'EBADF')).toBe(true);
  });
});
