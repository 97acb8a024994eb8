import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isChildSubreaper, isSysError, pidfdOpen, pidfdSendSignal, reapPid, setChildSubreaper, waitPidfd } from './index.js';
import { ADDON, FIXTURES } from './testing/helpers.js';

/*
 * reapAll and waitPidfd reap children, so anything that does is run in a `node` child of its own
 * (testing/child.cjs), never in the vitest worker, whose children belong to vitest and libuv.
 * reapPid is the exception: it reaps only the pid it is given, so it runs here, on orphans, and
 * shows that libuv's own children are left alone.
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

describe('reapPid (in this process: it reaps only the pid it is given)', () => {
  /** Starts `sh -c '<cmd> & echo $!'`; sh exits at once and its background job becomes our orphan child. */
  function orphan(cmd: string): number {
    const r = spawnSync('sh', ['-c', `${cmd} </dev/null >/dev/null 2>&1 & echo $!; exit 0`], { encoding: 'utf8' });
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    return pid;
  }

  async function reapWhenDone(pid: number): Promise<ReturnType<typeof reapPid>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const s = reapPid(pid);
      if (s || Date.now() > deadline) return s;
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  function ppidOf(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }

  it('reaps an orphan once it exits, null before, ECHILD after; libuv keeps its own children', async () => {
    expect(isChildSubreaper()).toBe(false);
    setChildSubreaper(true);
    try {
      // a child_process child running alongside: its 'exit' event must still come
      const own = spawn('sh', ['-c', 'sleep 0.3; exit 7'], { stdio: 'ignore' });
      const ownExit = new Promise<number | null>((res) => own.on('exit', (code) => res(code)));

      const pid = orphan('sleep 0.2');
      expect(ppidOf(pid)).toBe(process.pid);
      expect(reapPid(pid)).toBeNull(); // still sleeping
      expect(await reapWhenDone(pid)).toEqual({ pid, exitCode: 0 });
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false); // the zombie is gone
      expect(() => reapPid(pid)).toThrow(expect.objectContaining({ code: 'ECHILD', syscall: 'waitpid' }));

      expect(await ownExit).toBe(7);
    } finally {
      setChildSubreaper(false);
    }
    expect(isChildSubreaper()).toBe(false);
  });

  it('reports a child killed by a signal as 128+signal', async () => {
    setChildSubreaper(true);
    try {
      const pid = orphan('sleep 10');
      expect(reapPid(pid)).toBeNull();
      process.kill(pid, 'SIGKILL');
      expect(await reapWhenDone(pid)).toEqual({ pid, exitCode: 137, signal: 9, coreDumped: false });
    } finally {
      setChildSubreaper(false);
    }
  });

  it('throws ECHILD for a pid that is not a child, RangeError/TypeError for bad input', () => {
    let err: unknown;
    try {
      reapPid(process.pid);
    } catch (e) {
      err = e;
    }
    expect(isSysError(err, 'ECHILD')).toBe(true);
    expect(err).toMatchObject({ errno: 10, syscall: 'waitpid' });
    expect(() => reapPid(process.ppid)).toThrow(expect.objectContaining({ code: 'ECHILD' }));
    expect(() => reapPid(0)).toThrow(RangeError); // 0 and -1 would mean "any child": refused
    expect(() => reapPid(-1)).toThrow(RangeError);
    expect(() => reapPid('1' as unknown as number)).toThrow(TypeError);
  });
});
