import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { getWinsize, isSysError, listenUnix, openPty, pipe, receiveFd, sendFd, setWinsize } from './index.js';
import { makeTempDir } from './testing/helpers.js';

const tmp = makeTempDir('io');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const O_CLOEXEC = 0o2000000;

/** The open-file flags of one of this process's fds, as /proc shows them (octal). */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (!m) throw new Error(`no flags in /proc/self/fdinfo/${fd}`);
  return parseInt(m[1]!, 8);
}

const isCloexec = (fd: number): boolean => (fdFlags(fd) & O_CLOEXEC) !== 0;

/** Reads exactly `n` bytes from a blocking fd. */
function readN(fd: number, n: number): string {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const k = fs.readSync(fd, buf, got, n - got, null);
    if (k === 0) break;
    got += k;
  }
  return buf.subarray(0, got).toString();
}

function closeAll(...fds: (number | undefined)[]): void {
  for (const fd of fds) if (fd !== undefined) fs.closeSync(fd);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

let sockSeq = 0;
const sockPath = (): string => path.join(tmp, `s${++sockSeq}.sock`);

describe('pipe', () => {
  it('gives a working pipe with both ends close-on-exec', () => {
    const [r, w] = pipe();
    try {
      expect(r).not.toBe(w);
      expect(isCloexec(r)).toBe(true);
      expect(isCloexec(w)).toBe(true);
      expect(fdFlags(r) & 0o3).toBe(0); // O_RDONLY
      expect(fdFlags(w) & 0o3).toBe(1); // O_WRONLY
      expect(fs.writeSync(w, 'through the pipe')).toBe(16);
      expect(readN(r, 16)).toBe('through the pipe');
      fs.closeSync(w);
      expect(fs.readSync(r, Buffer.alloc(8))).toBe(0); // EOF once the write end is closed
    } finally {
      fs.closeSync(r);
    }
  });
});

describe('openPty and window sizes', () => {
  it('opens a pty pair: close-on-exec, slave at /dev/pts/N, bytes flow both ways', () => {
    const pty = openPty();
    try {
      expect(pty.slavePath).toMatch(/^\/dev\/pts\/\d+$/);
      expect(fs.fstatSync(pty.slave).isCharacterDevice()).toBe(true);
      expect(fs.fstatSync(pty.slave).rdev).toBe(fs.statSync(pty.slavePath).rdev);
      expect(isCloexec(pty.master)).toBe(true);
      expect(isCloexec(pty.slave)).toBe(true);
      fs.writeSync(pty.slave, 'ping');
      expect(readN(pty.master, 4)).toBe('ping');
      fs.writeSync(pty.master, 'pong\n'); // canonical mode: the slave reads a whole line
      expect(readN(pty.slave, 5)).toBe('pong\n');
    } finally {
      closeAll(pty.master, pty.slave);
    }
  });

  it('setWinsize on the master is what getWinsize on the slave reads', () => {
    const pty = openPty();
    try {
      setWinsize(pty.master, 40, 120);
      expect(getWinsize(pty.slave)).toEqual({ rows: 40, cols: 120 });
      setWinsize(pty.slave, 65535, 1);
      expect(getWinsize(pty.master)).toEqual({ rows: 65535, cols: 1 });
    } finally {
      closeAll(pty.master, pty.slave);
    }
  });

  it('reports ENOTTY for a non-terminal and rejects bad sizes', () => {
    const [r, w] = pipe();
    try {
      const err = thrown(() => getWinsize(r));
      expect(isSysError(err, 'ENOTTY')).toBe(true);
      expect(err).toMatchObject({ syscall: 'ioctl', detail: 'TIOCGWINSZ' });
      expect(thrown(() => setWinsize(w, 24, 80))).toMatchObject({ code: 'ENOTTY', detail: 'TIOCSWINSZ' });
      expect(() => setWinsize(r, 65536, 80)).toThrow(RangeError);
      expect(() => setWinsize(r, 24, -1)).toThrow(RangeError);
      expect(() => getWinsize('0' as unknown as number)).toThrow(TypeError);
    } finally {
      closeAll(r, w);
    }
  });
});

describe('listenUnix', () => {
  it('listens at the path with a close-on-exec fd', () => {
    const p = sockPath();
    const fd = listenUnix(p);
    try {
      expect(fs.statSync(p).isSocket()).toBe(true);
      expect(isCloexec(fd)).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('throws ENAMETOOLONG when the path does not fit sun_path, EADDRINUSE when it exists', () => {
    const long = path.join(tmp, 'x'.repeat(120));
    const err = thrown(() => listenUnix(long));
    expect(isSysError(err, 'ENAMETOOLONG')).toBe(true);
    expect(err).toMatchObject({ syscall: 'bind', path: long });
    expect(fs.existsSync(long)).toBe(false);

    const p = sockPath();
    const fd = listenUnix(p, 8);
    try {
      expect(thrown(() => listenUnix(p))).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', path: p });
    } finally {
      fs.closeSync(fd);
    }
    expect(thrown(() => listenUnix(path.join(tmp, 'no', 'dir.sock')))).toMatchObject({ code: 'ENOENT', syscall: 'bind' });
    expect(() => listenUnix(sockPath(), 0)).toThrow(RangeError);
  });
});

describe('receiveFd and sendFd', () => {
  it('receives an fd sent with sendFd and leaves the listener open', async () => {
    const p = sockPath();
    const listener = listenUnix(p);
    const [r, writeEnd] = pipe();
    let w: number | undefined = writeEnd;
    let got: number | undefined;
    try {
      const receipt = receiveFd(listener, 5000);
      sendFd(p, w);
      got = await receipt;
      expect(got).not.toBe(w);
      expect(isCloexec(got)).toBe(true);
      fs.closeSync(w); // the received copy keeps the pipe's write end open
      w = undefined;
      fs.writeSync(got, 'via SCM_RIGHTS');
      expect(readN(r, 14)).toBe('via SCM_RIGHTS');

      // the listener is still usable: a second round on it works
      const again = receiveFd(listener, 5000);
      sendFd(p, r);
      const r2 = await again;
      fs.writeSync(got, 'again');
      expect(readN(r2, 5)).toBe('again');
      fs.closeSync(r2);
    } finally {
      closeAll(listener, r, w, got);
    }
  });

  it.skipIf(!hasPython())('takes the first of several fds from a real peer (python3 send_fds) and closes the rest', async () => {
    const p = sockPath();
    const listener = listenUnix(p);
    let got: number | undefined;
    try {
      const receipt = receiveFd(listener, 10_000);
      // Like runc: the pty name as data, fds as SCM_RIGHTS; here a pipe's read end, then its write end twice.
      const script = [
        'import os, socket, sys',
        'r, w = os.pipe()',
        "os.write(w, b'from python')",
        's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        's.connect(sys.argv[1])',
        "socket.send_fds(s, [b'/dev/pts/9'], [r, w, w])",
        's.close()',
      ].join('\n');
      await promisify(execFile)('python3', ['-c', script, p], { timeout: 10_000 });
      got = await receipt;
      expect(isCloexec(got)).toBe(true);
      expect(readN(got, 11)).toBe('from python');
      // Every end of that pipe (they share one inode) that is open here: only the one received.
      const link = fs.readlinkSync(`/proc/self/fd/${got}`);
      expect(link).toMatch(/^pipe:/);
      const same = fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === link;
        } catch {
          return false; // the fd readdir itself used
        }
      });
      expect(same).toEqual([String(got)]);
      expect(fs.readSync(got, Buffer.alloc(8))).toBe(0); // no write end left anywhere: EOF
    } finally {
      closeAll(listener, got);
    }
  });

  it('rejects ETIMEDOUT when nobody connects in time', async () => {
    const listener = listenUnix(sockPath());
    try {
      const t0 = Date.now();
      const err: unknown = await receiveFd(listener, 50).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
      expect(isSysError(err, 'ETIMEDOUT')).toBe(true);
      expect(err).toMatchObject({ syscall: 'accept', detail: expect.stringMatching(/within 50 ms/) });
      expect(fs.fstatSync(listener).isSocket()).toBe(true); // not closed
    } finally {
      fs.closeSync(listener);
    }
  });

  it('rejects ETIMEDOUT when the peer connects but sends nothing in time', async () => {
    const p = sockPath();
    const listener = listenUnix(p);
    const silent = net.connect(p);
    try {
      await expect(receiveFd(listener, 100)).rejects.toMatchObject({
        code: 'ETIMEDOUT',
        syscall: 'recvmsg',
        detail: expect.stringMatching(/within 100 ms/),
      });
    } finally {
      silent.destroy();
      fs.closeSync(listener);
    }
  });

  it('rejects EBADMSG when the peer sends data without an fd, or just connects and closes', async () => {
    const p = sockPath();
    const listener = listenUnix(p);
    try {
      const withData = receiveFd(listener, 5000);
      const c = net.connect(p, () => c.end('no fd here'));
      const err: unknown = await withData.catch((e: unknown) => e);
      expect(isSysError(err, 'EBADMSG')).toBe(true);
      expect(err).toMatchObject({ syscall: 'recvmsg', detail: expect.stringMatching(/no file descriptor/) });

      // what the shim does to wake a receiver whose runtime never connected
      const poked = receiveFd(listener, 5000);
      const t0 = Date.now();
      const poke = net.connect(p, () => poke.destroy());
      await expect(poked).rejects.toMatchObject({ code: 'EBADMSG', detail: expect.stringMatching(/closed the connection/) });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      fs.closeSync(listener);
    }
  });

  it('rejects (never throws) for bad arguments and fds that are not listeners', async () => {
    await expect(receiveFd('3' as unknown as number, 10)).rejects.toThrow(TypeError);
    await expect(receiveFd(3, -1)).rejects.toThrow(RangeError);
    await expect(receiveFd(999_999, 1000)).rejects.toMatchObject({ code: 'EBADF', syscall: 'accept' });
    const file = fs.openSync('/dev/null', 'r');
    try {
      await expect(receiveFd(file, 1000)).rejects.toMatchObject({ code: 'ENOTSOCK', syscall: 'accept' });
    } finally {
      fs.closeSync(file);
    }
  });

  it('sendFd reports ENOENT without a socket, ECONNREFUSED when nothing listens, ENAMETOOLONG', () => {
    const [r, w] = pipe();
    try {
      const missing = sockPath();
      expect(thrown(() => sendFd(missing, r))).toMatchObject({ code: 'ENOENT', syscall: 'connect', path: missing });
      const p = sockPath();
      fs.closeSync(listenUnix(p)); // the path stays, the listener is gone
      expect(thrown(() => sendFd(p, r))).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
      expect(thrown(() => sendFd(path.join(tmp, 'y'.repeat(120)), r))).toMatchObject({ code: 'ENAMETOOLONG' });
      expect(() => sendFd(p, -1)).toThrow(RangeError);
    } finally {
      closeAll(r, w);
    }
  });
});

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.send_fds'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
