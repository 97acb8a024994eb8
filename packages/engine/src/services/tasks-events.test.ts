import { tasksService } from '@berth/api';
import { imageReference } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient, ctrTable, hasCtr, runCtr, type GrpcClient, type TestEngine } from '../testing';
import { TASK_TOPICS, TaskShims } from './tasks';
import { TaskEventLog } from './tasks-event-log';
import { startTasksTestEngine } from './tasks-test-engine';

// The task events berthd publishes (containerd's topics and payloads), seen through the engine's
// event exchange while the real ctr drives real tasks. Root only.
const isRoot = process.getuid?.() === 0;
let engine: TestEngine;
let shims: TaskShims;
let log: TaskEventLog;
let tasks: GrpcClient<(typeof tasksService.Tasks)['methods']>;
const ref = imageReference('busybox');

beforeAll(async () => {
  if (!isRoot || !hasCtr) return;
  ({ engine, shims } = await startTasksTestEngine('berth-tasks-events-'));
  log = new TaskEventLog(engine.ctx.events);
  tasks = createGrpcClient(engine.address, tasksService.Tasks, { namespace: 'default' });
}, 120_000);

afterAll(async () => {
  if (engine) {
    for (const t of ['ev2', 'ev3']) {
      await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', t]);
      await runCtr(engine.address, ['tasks', 'rm', '-f', t]);
      await runCtr(engine.address, ['containers', 'rm', t]);
    }
  }
  log?.close();
  tasks?.close();
  await shims?.shutdownAll();
  const left = engine ? (await import('node:fs')).readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(engine.dir)) : [];
  await engine?.stop();
  expect(left).toEqual([]);
}, 60_000);

const topics = (events: { topic: string }[]) => events.map((e) => e.topic);

describe.skipIf(!isRoot || !hasCtr)('task events', () => {
  it('ctr run --rm: create, start, exit, delete, in that order, with the ids, pid and exit status', async () => {
    const r = await runCtr(engine.address, ['run', '--rm', '--fifo-dir', `${engine.dir}/fifo`, ref, 'ev1', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    await log.waitFor('delete of ev1', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'ev1');
    const seen = log.of('ev1');
    expect(topics(seen)).toEqual([TASK_TOPICS.create, TASK_TOPICS.start, TASK_TOPICS.exit, TASK_TOPICS.delete]);
    const [create, start, exit, del] = seen.map((e) => e.fields);
    const pid = create!.pid as number;
    expect(pid).toBeGreaterThan(0);
    expect(seen.every((e) => e.namespace === 'default')).toBe(true);
    expect(create).toMatchObject({ containerId: 'ev1', bundle: expect.stringMatching(/\/shims\/default\/ev1$/), checkpoint: '' });
    expect(create!.rootfs).toEqual([expect.objectContaining({ type: 'overlay' })]);
    expect(create!.io).toMatchObject({ stdout: expect.stringContaining('ev1'), terminal: false });
    expect(start).toEqual({ containerId: 'ev1', pid });
    expect(exit).toMatchObject({ containerId: 'ev1', id: 'ev1', pid, exitStatus: 3 });
    expect(Number((exit!.exitedAt as { seconds: number }).seconds)).toBeGreaterThan(0);
    expect(del).toMatchObject({ containerId: 'ev1', id: 'ev1', pid, exitStatus: 3 });
  });

  it('publishes the exit when the process exits, with nobody waiting; exec, pause and resume events; each exit once', async () => {
    expect((await runCtr(engine.address, ['run', '-d', '--null-io', ref, 'ev2', 'sleep', '1000'])).stderr).toBe('');
    const pid = (await log.waitFor('start of ev2', (e) => e.topic === TASK_TOPICS.start && e.fields.containerId === 'ev2')).fields.pid;

    const x = await runCtr(engine.address, ['tasks', 'exec', '--fifo-dir', `${engine.dir}/fifo`, '--exec-id', 'x1', 'ev2', 'sh', '-c', 'exit 4']);
    expect(x.code).toBe(4);
    expect((await runCtr(engine.address, ['tasks', 'pause', 'ev2'])).code).toBe(0);
    expect((await runCtr(engine.address, ['tasks', 'resume', 'ev2'])).code).toBe(0);

    // ctr run -d exited long ago: nobody calls Wait for ev2's init, its exit comes from berthd's own watcher.
    expect((await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', 'ev2'])).code).toBe(0);
    const exit = await log.waitFor('exit of ev2', (e) => e.topic === TASK_TOPICS.exit && e.fields.id === 'ev2');
    expect(exit.fields).toMatchObject({ containerId: 'ev2', pid, exitStatus: 137 });
    expect(ctrTable((await runCtr(engine.address, ['tasks', 'ls'])).stdout, ['TASK', 'PID', 'STATUS'])).toContainEqual({ TASK: 'ev2', PID: String(pid), STATUS: 'STOPPED' });
    expect((await runCtr(engine.address, ['tasks', 'rm', 'ev2'])).code).toBe(0);
    await log.waitFor('delete of ev2', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'ev2');

    const seen = log.of('ev2');
    expect(topics(seen)).toEqual([
      TASK_TOPICS.create,
      TASK_TOPICS.start,
      TASK_TOPICS.execAdded,
      TASK_TOPICS.execStarted,
      TASK_TOPICS.exit,
      TASK_TOPICS.paused,
      TASK_TOPICS.resumed,
      TASK_TOPICS.exit,
      TASK_TOPICS.delete,
    ]);
    const execPid = seen[3]!.fields.pid as number;
    expect(execPid).toBeGreaterThan(0);
    expect(seen[2]!.fields).toEqual({ containerId: 'ev2', execId: 'x1' });
    expect(seen[3]!.fields).toEqual({ containerId: 'ev2', execId: 'x1', pid: execPid });
    expect(seen[4]!.fields).toMatchObject({ containerId: 'ev2', id: 'x1', pid: execPid, exitStatus: 4 });
    expect(seen[5]!.fields).toEqual({ containerId: 'ev2' });
    expect(seen[8]!.fields).toMatchObject({ containerId: 'ev2', id: 'ev2', pid, exitStatus: 137 });
    expect((await runCtr(engine.address, ['containers', 'rm', 'ev2'])).code).toBe(0);
  });

  it('publishes no exit for a task or an exec deleted without being started', async () => {
    expect((await runCtr(engine.address, ['containers', 'create', ref, 'ev3', 'sleep', '1000'])).code).toBe(0);
    const { pid } = await tasks.create({ containerId: 'ev3' });
    await tasks.delete({ containerId: 'ev3' });
    await log.waitFor('delete of ev3', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'ev3');
    expect(topics(log.of('ev3'))).toEqual([TASK_TOPICS.create, TASK_TOPICS.delete]);
    expect(log.of('ev3')[1]!.fields).toMatchObject({ containerId: 'ev3', id: 'ev3', pid });

    // A started task with an exec that is added, then deleted unstarted.
    await tasks.create({ containerId: 'ev3' });
    await tasks.start({ containerId: 'ev3' });
    const spec = { args: ['true'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } };
    await tasks.exec({ containerId: 'ev3', execId: 'never', spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(spec)) } });
    await tasks.deleteProcess({ containerId: 'ev3', execId: 'never' });
    await tasks.kill({ containerId: 'ev3', signal: 9 });
    await tasks.wait({ containerId: 'ev3' });
    await tasks.delete({ containerId: 'ev3' });
    await log.waitFor('second delete of ev3', (e) => e.topic === TASK_TOPICS.delete && e.fields.containerId === 'ev3' && e !== log.of('ev3')[1]);
    expect(topics(log.of('ev3'))).toEqual([
      TASK_TOPICS.create,
      TASK_TOPICS.delete,
      TASK_TOPICS.create,
      TASK_TOPICS.start,
      TASK_TOPICS.execAdded,
      TASK_TOPICS.exit,
      TASK_TOPICS.delete,
    ]);
    expect(log.of('ev3')[5]!.fields).toMatchObject({ id: 'ev3', exitStatus: 137 });
    expect((await runCtr(engine.address, ['containers', 'rm', 'ev3'])).code).toBe(0);
  });
});
