import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { isChildSubreaper, setChildSubreaper } from '@berth/sys';
import { afterEach, describe, expect, it } from 'vitest';
import { childPids, Reaper } from './reaper';

// The reaper makes this (vitest worker) process a subreaper for the duration of each test.
const isLinux = process.platform === 'linux';

describe.skipIf(!isLinux)('Reaper', () => {
  let reaper: Reaper | undefined;
  afterEach(() => {
    reaper?.stop();
    reaper = undefined;
    if (isChildSubreaper()) setChildSubreaper(false);
  });

  /**
   * Starts `sh -c '<cmd> & echo $!'`: the shell exits, its background child becomes our orphan.
   * The shell is a child_process child, so call this inside `reaper.track` (as the shim runs
   * every runtime call), or the scan may take the shell's exit from libuv.
   */
  async function orphan(cmd: string): Promise<number> {
    const sh = spawn('sh', ['-c', `${cmd} >/dev/null 2>&1 & echo $!`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => sh.on('close', r));
    return Number(out.trim());
  }

  it('watch() returns the exit status of a reparented process', async () => {
    reaper = new Reaper();
    reaper.start();
    // As the shim does: the call that produces the pid and the watch of it, in one tracked step,
    // so the orphan scan cannot reap the process first even when it exits at once.
    const status = await reaper.track(async () => {
      const pid = await orphan('sh -c "sleep 0.1; exit 9"');
      return { pid, exit: reaper!.watch(pid) };
    });
    expect(status.pid).toBeGreaterThan(0);
    expect((await status.exit).exitCode).toBe(9);
  });

  it('a watch is settled by the SIGCHLD handler when the pidfd wait comes late, and only once', async () => {
    // A wait thread that never answers on its own: only the SIGCHLD path can settle the watch.
    let late: ((s: never) => void) | undefined;
    reaper = new Reaper(() => new Promise((_, reject) => (late = () => reject(Object.assign(new Error('waitid: ECHILD'), { code: 'ECHILD' })))));
    reaper.start();
    const { exit } = await reaper.track(async () => ({ exit: reaper!.watch(await orphan('sh -c "sleep 0.05; exit 5"')) }));
    const status = await Promise.race([exit, sleep(5000).then(() => 'timeout' as const)]);
    expect(status).not.toBe('timeout');
    expect((status as { exitCode: number }).exitCode).toBe(5);
    late?.(undefined as never); // the thread's late ECHILD changes nothing
    await sleep(10);
    expect((await exit).exitCode).toBe(5);
  });

  it('reaps orphans nobody watches, but never a child_process child or a watched pid', async () => {
    reaper = new Reaper();
    reaper.start();
    const { exit: status } = await reaper.track(async () => ({ exit: reaper!.watch(await orphan('sleep 0.3')) }));
    const unwatched = await reaper.track(() => orphan('sleep 0.05'));
    // A child_process child that exits while a tracked call is in flight keeps its exit event.
    // (Spawned inside the tracked call, as the shim's runtime calls are: a scan between the
    // spawn and the exit event could otherwise take the exit.)
    const code = await reaper.track(() => new Promise<number | null>((r) => spawn('sh', ['-c', 'exit 7']).on('exit', r)));
    expect(code).toBe(7);
    for (let i = 0; i < 100 && childPids().includes(unwatched); i++) await sleep(10);
    expect(childPids()).not.toContain(unwatched);
    expect((await status).exitCode).toBe(0);
    expect(childPids()).toEqual([]);
  });

  it('tracked() holds the scan off for every method of the wrapped object', async () => {
    reaper = new Reaper();
    const calls: string[] = [];
    const target = {
      async run(): Promise<string> {
        calls.push(`run:${(reaper as unknown as { inflight: number }).inflight}`);
        return 'ok';
      },
      name: 'plain',
    };
    const wrapped = reaper.tracked(target);
    expect(await wrapped.run()).toBe('ok');
    expect(wrapped.name).toBe('plain');
    expect(calls).toEqual(['run:1']);
  });
});
