import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipe, sealedCopy, spawnProcess, waitPidfd } from './index.js';

/** Runs `sh -c script` through spawnProcess with stdout (and stderr) to a pipe; the exit status and the output. */
async function run(script: string, stdin: number | null = null): Promise<{ exitCode: number; out: string }> {
  const [r, w] = pipe();
  let pidfd: number;
  try {
    ({ pidfd } = spawnProcess('/bin/sh', ['sh', '-c', script, 'name-zero'], [stdin, w, w]));
  } finally {
    closeSync(w);
  }
  try {
    const status = await waitPidfd(pidfd);
    const out = readFileSync(r, 'utf8'); // the child is gone: the pipe is at EOF after its output
    return { exitCode: status.exitCode, out };
  } finally {
    closeSync(pidfd);
    closeSync(r);
  }
}

describe('spawnProcess (a vfork-like clone)', () => {
  it('runs the program with its argv and stdio, and the caller reaps its exit status', async () => {
    expect(await run('echo "$0 $1"; echo err >&2; exit 3')).toEqual({ exitCode: 3, out: 'name-zero \nerr\n' });
  });

  it('gives /dev/null for a null descriptor', async () => {
    expect(await run('wc -c; readlink /proc/self/fd/0')).toEqual({ exitCode: 0, out: '0\n/dev/null\n' });
  });

  it('starts the child with default signal dispositions, nothing blocked, and only fds 0-2', async () => {
    // Node ignores SIGPIPE; a container started with it ignored would behave differently.
    const [r, w] = pipe(); // close-on-exec, as all of Node's descriptors: the child must not see it
    try {
      const { out } = await run(`grep -E "^Sig(Ign|Blk)" /proc/self/status; ls /proc/$$/fd | tr "\\n" " "`);
      expect(out).toMatch(/^SigBlk:\s+0+\nSigIgn:\s+0+\n/);
      const fds = out.split('\n')[2]!.trim().split(' ').map(Number);
      expect(fds.slice(0, 3)).toEqual([0, 1, 2]);
      expect(fds).not.toContain(r);
      expect(fds).not.toContain(w);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it('throws the errno of a program that cannot be started', () => {
    expect(() => spawnProcess('/nonexistent/program', ['x'], [null, null, null])).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'spawn' }));
    expect(() => spawnProcess('/bin/sh', [], [null, null, null])).toThrow(RangeError);
    expect(() => spawnProcess('/bin/sh', ['sh'], [1, null, null])).toThrow(RangeError);
  });

  it('runs a /proc/<pid>/fd/<n> program by descriptor, so it is named after the file, and a script there by path', async () => {
    const fd = sealedCopy('/bin/sleep', 'named');
    const dir = mkdtempSync(join(tmpdir(), 'berth-spawn-'));
    try {
      const child = spawnProcess(`/proc/${process.pid}/fd/${fd}`, ['sleep', '5'], [null, null, null]);
      try {
        expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).toBe('memfd:named\n');
        expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toBe('sleep\x005\x00');
      } finally {
        process.kill(child.pid, 'SIGKILL');
        await waitPidfd(child.pidfd);
        closeSync(child.pidfd);
      }
      const script = join(dir, 'script');
      writeFileSync(script, '#!/bin/sh\necho "script $1" > "$2"\n', { mode: 0o755 });
      const out = join(dir, 'out');
      const scriptFd = openSync(script, 'r');
      try {
        const s = spawnProcess(`/proc/${process.pid}/fd/${scriptFd}`, ['script', 'ran', out], [null, null, null]);
        expect((await waitPidfd(s.pidfd)).exitCode).toBe(0);
        closeSync(s.pidfd);
        expect(readFileSync(out, 'utf8')).toBe('script ran\n');
      } finally {
        closeSync(scriptFd);
      }
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
