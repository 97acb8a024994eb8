import { execFileSync } from 'node:child_process';
import { closeSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sealedCopy } from './index.js';

const viaProc = (fd: number) => `/proc/${process.pid}/fd/${fd}`;

describe('sealedCopy', () => {
  it('holds the program, named, runs it, and refuses every write', () => {
    const fd = sealedCopy('/bin/echo', 'berth-test:echo');
    try {
      expect(readlinkSync(viaProc(fd))).toBe('/memfd:berth-test:echo (deleted)');
      expect(readFileSync(viaProc(fd)).equals(readFileSync('/bin/echo'))).toBe(true);
      expect(execFileSync(viaProc(fd), ['sealed', 'copy'], { encoding: 'utf8' })).toBe('sealed copy\n');
      expect(() => writeFileSync(viaProc(fd), 'x')).toThrow(/EPERM/);
      expect(() => writeFileSync(viaProc(fd), 'x', { flag: 'a' })).toThrow(/EPERM/);
    } finally {
      closeSync(fd);
    }
  });

  it('is close-on-exec: a child does not inherit it', () => {
    const fd = sealedCopy('/bin/true', 'berth-test:true');
    try {
      expect(execFileSync('/bin/sh', ['-c', `test -e /proc/self/fd/${fd} && echo open || echo closed`], { encoding: 'utf8' })).toBe('closed\n');
    } finally {
      closeSync(fd);
    }
  });

  it('fails with the errno for a missing file and EINVAL for a directory', () => {
    expect(() => sealedCopy('/nonexistent/berth', 'x')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    expect(() => sealedCopy('/tmp', 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
