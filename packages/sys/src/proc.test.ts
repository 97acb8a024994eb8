import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isChildSubreaper, isSysError, pidfdOpen, pidfdSendSignal, waitPidfd } from './index.js';
import { ADDON, FIXTURES } from './testing/helpers.js';

/*
 * reapAll and waitPidfd reap children, so anything that does is run in a `node` child of its own
 * (testing/child.cjs), never in the vitest worker, whose children belong to vitest and libuv.
 */
interface Status {
  pid: number;
  exitCode: number;
  signal?: number;
  coreDumped?: boolean;
}
interface ChildReport {
  fatal?: string;
  subreaperBefore: boolean;
  subreaperAfter: boolean;
  subreaperOff: boolean;
  orphanPid: number;
  reaped: Status[];
  reapAllWhenNone: Status[];
  exit3: { expectedPid: number; status: Status };
  signalAfterReap: { code: string; syscall: string } | string;
  killed: { expectedPid: number; status: Status };
  many: { ok: boolean; exitCode: number }[];
  poolFreeMs: number;
  notChild: { code: string; syscall: string } | string;
}

function runChild(): ChildReport {
  const out = execFileSync(process.execPath, [path.join(FIXTURES, 'child.cjs'), ADDON], { encoding: 'utf8', timeout: 30_000 });
  const r = JSON.parse(out) as ChildReport;
  if (r.fatal) throw new Error(r.fatal);
  return r;
}

describe('child subreaper, reaping and pidfd waits (in a dedicated child process)', () => {
  let r: ChildReport;
  beforeAll(() => {
    r = runChild();
  }, 30_000);

  it('sets and reads the child-subreaper flag', () => {
    expect(r.subreaperBefore).toBe(false);
    expect(r.subreaperAfter).toBe(true);
    expect(r.subreaperOff).toBe(false);
  });

  it('reaps an orphaned grandchild re-parented to the subreaper', () => {
    expect(r.orphanPid).toBeGreaterThan(1);
    expect(r.reaped).toContainEqual({ pid: r.orphanPid, exitCode: 0 });
    expect(r.reapAllWhenNone).toEqual([]);
  });

  it('waitPidfd resolves the exit code', () => {
    expect(r.exit3.status).toEqual({ pid: r.exit3.expectedPid, exitCode: 3 });
    expect(r.signalAfterReap).toMatchObject({ code: 'ESRCH', syscall: 'pidfd_send_signal' });
  });

  it('waitPidfd reports a SIGKILL sent through pidfd_send_signal as signal 9, exit code 137', () => {
    expect(r.killed.status).toEqual({ pid: r.killed.expectedPid, exitCode: 137, signal: 9, coreDumped: false });
  });

  it('runs many waits at once without tying up libuv threads', () => {
    expect(r.many).toEqual(Array.from({ length: 6 }, (_, i) => ({ ok: true, exitCode: 10 + i })));
    expect(r.poolFreeMs).toBeLessThan(250); // the children sleep 300 ms
  });

  it('rejects with ECHILD when the pidfd is not a child', () => {
    expect(r.notChild).toMatchObject({ code: 'ECHILD', syscall: 'waitid' });
  });
});

describe('pidfds in this process (nothing reaped)', () => {
  it('opens a pidfd for itself and signals it with signal 0', () => {
    expect(isChildSubreaper()).toBe(false);
    const fd = pidfdOpen(process.pid);
    try {
      expect(fs.fstatSync(fd)).toBeDefined();
      pidfdSendSignal(fd, 0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('reports ESRCH for a pid that does not exist', () => {
    const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    let err: unknown;
    try {
      pidfdOpen(pidMax + 1);
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, 'ESRCH')).toBe(true);
    expect(err).toMatchObject({ errno: 3, syscall: 'pidfd_open' });
  });

  it('waitPidfd rejects (never throws) for bad input, for itself and for a closed fd', async () => {
    await expect(waitPidfd('3' as unknown as number)).rejects.toThrow(TypeError);
    await expect(waitPidfd(-1)).rejects.toThrow(RangeError);
    const fd = pidfdOpen(process.pid);
    try {
      await expect(waitPidfd(fd)).rejects.toMatchObject({ code: 'ECHILD', syscall: 'waitid' });
    } finally {
      fs.closeSync(fd);
    }
    const notOpen = 999_999; // above RLIMIT_NOFILE, so never open
    await expect(waitPidfd(notOpen)).rejects.toMatchObject({ code: 'EBADF' });
    expect(() => pidfdSendSignal(notOpen, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    const notPidfd = fs.openSync('/dev/null', 'r');
    try {
      // an open fd that is not a pidfd is EBADF too (waitid(2) lists EINVAL; the kernel says EBADF)
      await expect(waitPidfd(notPidfd)).rejects.toMatchObject({ code: 'EBADF', syscall: 'waitid' });
    } finally {
      fs.closeSync(notPidfd);
    }
    expect(() => pidfdSendSignal(0, 99)).toThrow(RangeError);
  });
});
