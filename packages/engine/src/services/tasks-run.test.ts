import { imageReference } from '@berth/testimages';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctrTable, hasCtr, runCtr, type TestEngine } from '../testing';
import { TaskShims } from './tasks';
import { startTasksTestEngine } from './tasks-test-engine';

// `ctr run` end to end: import a busybox image, unpack it, run it. Needs the Images and Diff
// services (another engineer's work) besides Tasks. Root only.
const isRoot = process.getuid?.() === 0;
let engine: TestEngine;
let shims: TaskShims;
const ref = imageReference('busybox');

beforeAll(async () => {
  if (!isRoot || !hasCtr) return;
  ({ engine, shims } = await startTasksTestEngine('berth-tasks-run-'));
}, 120_000);

afterAll(async () => {
  // After a failure, take down what still runs (a shim shut down with containers leaves their mounts).
  if (engine) {
    for (const t of ['r1', 'r2']) {
      await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', t]);
      await runCtr(engine.address, ['tasks', 'rm', '-f', t]);
    }
  }
  await shims?.shutdownAll();
  const left = engine ? readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(engine.dir)) : [];
  await engine?.stop();
  expect(left).toEqual([]);
}, 60_000);

describe.skipIf(!isRoot || !hasCtr)('ctr run', () => {
  it('runs --rm in the foreground with the exit code and output', async () => {
    const r = await runCtr(engine.address, ['run', '--rm', '--fifo-dir', `${engine.dir}/fifo`, ref, 'r1', 'sh', '-c', 'echo hello; exit 3']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(3);
    expect((await runCtr(engine.address, ['containers', 'ls', '-q'])).stdout).toBe('');
  });

  it('runs -d, then tasks ls / kill / containers rm', async () => {
    const d = await runCtr(engine.address, ['run', '-d', '--null-io', ref, 'r2', 'sleep', '1000']);
    expect(d.stderr).toBe('');
    const ls = ctrTable((await runCtr(engine.address, ['tasks', 'ls'])).stdout, ['TASK', 'PID', 'STATUS']);
    expect(ls).toContainEqual({ TASK: 'r2', PID: expect.stringMatching(/^\d+$/), STATUS: 'RUNNING' });
    expect((await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', 'r2'])).code).toBe(0);
    for (let i = 0; i < 100; i++) {
      const rows = ctrTable((await runCtr(engine.address, ['tasks', 'ls'])).stdout, ['TASK', 'PID', 'STATUS']);
      if (rows.some((t) => t.TASK === 'r2' && t.STATUS === 'STOPPED')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const rm = await runCtr(engine.address, ['containers', 'rm', 'r2']);
    expect(rm.stderr).toBe('');
    expect((await runCtr(engine.address, ['tasks', 'ls', '-q'])).stdout).toBe('');
  });
});
