import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectShim } from '@berth/shim';
import { imageReference, testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berthd } from '../daemon/daemon';
import { startEngine } from '../engine';
import { createEventExchange } from '../events';
import { ctrTable, hasCtr, runCtr } from '../testing';
import { TASK_TOPICS } from './tasks';
import { TaskEventLog } from './tasks-event-log';

// Tasks survive a berthd crash: a berthd (dist/berthd.js, its own process) runs containers and
// is killed with SIGKILL; a new berthd on the same root and state takes the live tasks up again
// and cleans up after a shim that died meanwhile, as containerd's loadExistingTasks and
// cleanupAfterDeadShim do. Root only; needs a built engine (dist/) and shim.
const isRoot = process.getuid?.() === 0;
const BERTHD = fileURLToPath(new URL('../../dist/berthd.js', import.meta.url));
const ref = imageReference('busybox');

let dir: string;
let root: string;
let state: string;
let address: string;
let first: ChildProcess | undefined;
let second: Berthd | undefined;
let log: TaskEventLog;
/** Before the crash: the init pid of `live`, the pids of `dead`'s shim and init. */
let livePid: string;
let deadShimPid: number;
let deadInitPid: number;

/** Starts `berthd` as a child process and resolves once it serves. */
async function startBerthdProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BERTHD, '--root', root, '--state', state, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('serving')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`berthd exited with ${code}: ${stderr}`)));
  });
  return child;
}

async function ctrOk(args: string[]): Promise<string> {
  const r = await runCtr(address, args);
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Whether `pid` is gone (or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!cond()) throw new Error(`still not ${what}`);
}

const mountsUnder = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(path));

beforeAll(async () => {
  if (!isRoot || !hasCtr) return;
  dir = await mkdtemp(join(tmpdir(), 'berth-restart-'));
  root = join(dir, 'root');
  state = join(dir, 'state');
  address = join(state, 'berthd.sock');
  first = await startBerthdProcess();
  const image = await testImage('busybox', 'oci');
  // `live` in namespace default, `dead` in namespace dead: one shim each.
  for (const ns of ['default', 'dead']) await ctrOk(['-n', ns, 'images', 'import', '--no-unpack', image.path]);
  await ctrOk(['run', '-d', '--null-io', ref, 'live', 'sleep', '1000']);
  await ctrOk(['tasks', 'exec', '-d', '--fifo-dir', join(dir, 'fifo'), '--exec-id', 'x1', 'live', 'sleep', '1000']);
  await ctrOk(['-n', 'dead', 'run', '-d', '--null-io', ref, 'dead', 'sleep', '1000']);
  livePid = ctrTable(await ctrOk(['tasks', 'ls']), ['TASK', 'PID', 'STATUS']).find((t) => t.TASK === 'live')!.PID;
  const shim = await connectShim(readFileSync(join(state, 'shims', 'dead', 'dead', 'address'), 'utf8'));
  ({ shimPid: deadShimPid, taskPid: deadInitPid } = await shim.connect({ id: 'dead' }));
  shim.close();

  // berthd crashes; while it is down, the shim of namespace dead dies, and its container too.
  first.kill('SIGKILL');
  await new Promise((r) => first!.once('exit', r));
  first = undefined;
  process.kill(deadShimPid, 'SIGKILL');
  process.kill(deadInitPid, 'SIGKILL');
  await until('dead', () => gone(deadShimPid) && gone(deadInitPid));

  // A new berthd on the same root and state; subscribed before it starts, so startup's events are seen.
  const exchange = createEventExchange();
  log = new TaskEventLog(exchange);
  second = await startEngine({ root, state, events: exchange });
}, 120_000);

afterAll(async () => {
  if (!dir) return;
  first?.kill('SIGKILL');
  if (second) {
    for (const [ns, id] of [['default', 'live'], ['dead', 'dead']] as const) {
      await runCtr(address, ['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', id]);
      await runCtr(address, ['-n', ns, 'tasks', 'rm', '-f', id]);
      await runCtr(address, ['-n', ns, 'containers', 'rm', id]);
    }
  }
  log?.close();
  await second?.stop();
  // The shims have no containers left: ask them to go now rather than after their idle time.
  for (const sock of existsSync(join(state, 's')) ? readdirSync(join(state, 's')).filter((n) => n.endsWith('.sock')) : []) {
    const c = await connectShim(join(state, 's', sock), { timeoutMs: 1000 }).catch(() => undefined);
    await c?.shutdown({ now: true }).catch(() => {});
    c?.close();
  }
  const left = mountsUnder(dir);
  await rm(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
}, 60_000);

describe.skipIf(!isRoot || !hasCtr)('berthd restart', () => {
  it('cleans up after a shim that died while berthd was down: exit and delete published, rootfs unmounted, bundle gone', async () => {
    const exit = await log.waitFor('exit of dead', (e) => e.topic === TASK_TOPICS.exit && e.fields.containerId === 'dead');
    expect(exit).toMatchObject({ namespace: 'dead', fields: { containerId: 'dead', id: 'dead', pid: deadInitPid, exitStatus: 137 } });
    await log.waitFor('delete of dead', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'dead');
    expect(log.of('dead').map((e) => e.topic)).toEqual([TASK_TOPICS.exit, TASK_TOPICS.delete]);
    expect(log.of('dead')[1]!.fields).toMatchObject({ containerId: 'dead', id: 'dead', pid: deadInitPid, exitStatus: 137 });

    const bundle = join(state, 'shims', 'dead', 'dead');
    expect(existsSync(bundle)).toBe(false);
    expect(mountsUnder(bundle)).toEqual([]);
    expect(await ctrOk(['-n', 'dead', 'tasks', 'ls', '-q'])).toBe('');
    await ctrOk(['-n', 'dead', 'containers', 'rm', 'dead']);
    expect(await ctrOk(['-n', 'dead', 'containers', 'ls', '-q'])).toBe('');
  });

  it('takes up a live shim\'s tasks: same pid RUNNING, exec and init exits published by the restored watchers, kill and rm work', async () => {
    expect(ctrTable(await ctrOk(['tasks', 'ls']), ['TASK', 'PID', 'STATUS'])).toContainEqual({ TASK: 'live', PID: livePid, STATUS: 'RUNNING' });
    // Nothing of `live` was published at startup: it did not exit.
    expect(log.of('live')).toEqual([]);

    // Nobody calls Wait: the exits come from the watchers the new berthd restarted.
    await ctrOk(['tasks', 'kill', '-s', 'SIGKILL', '--exec-id', 'x1', 'live']);
    const execExit = await log.waitFor('exit of exec x1', (e) => e.topic === TASK_TOPICS.exit && e.fields.id === 'x1');
    expect(execExit.fields).toMatchObject({ containerId: 'live', exitStatus: 137 });
    expect(execExit.fields.pid).toBeGreaterThan(0);
    expect(ctrTable(await ctrOk(['tasks', 'ls']), ['TASK', 'PID', 'STATUS'])).toContainEqual({ TASK: 'live', PID: livePid, STATUS: 'RUNNING' });

    await ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'live']);
    const exit = await log.waitFor('exit of live', (e) => e.topic === TASK_TOPICS.exit && e.fields.id === 'live');
    expect(exit.fields).toMatchObject({ containerId: 'live', pid: Number(livePid), exitStatus: 137 });
    expect(ctrTable(await ctrOk(['tasks', 'ls']), ['TASK', 'PID', 'STATUS'])).toContainEqual({ TASK: 'live', PID: livePid, STATUS: 'STOPPED' });

    await ctrOk(['tasks', 'rm', 'live']);
    await log.waitFor('delete of live', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'live');
    expect(log.of('live').map((e) => [e.topic, e.fields.id])).toEqual([
      [TASK_TOPICS.exit, 'x1'],
      [TASK_TOPICS.exit, 'live'],
      [TASK_TOPICS.delete, 'live'],
    ]);
    expect(log.of('live')[2]!.fields).toMatchObject({ pid: Number(livePid), exitStatus: 137 });
    expect(await ctrOk(['tasks', 'ls', '-q'])).toBe('');
    await ctrOk(['containers', 'rm', 'live']);
    expect(mountsUnder(join(state, 'shims'))).toEqual([]);
  });
});
