import { execFile } from 'node:child_process';
import { constants, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { containersService, leasesService, namespacesService, runcOptions, snapshotsService, taskTypes, tasksService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { generateSpec } from '@berth/runtime';
import type { ImageConfig } from '@berth/spec';
import { mkfifo } from '@berth/sys';
import { writeRootfs } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addService } from '../grpc/service';
import { createGrpcClient, ctr, ctrTable, hasCtr, startTestEngine, type GrpcClient, type TestEngine } from '../testing';
import { containersImpl } from './containers';
import { leasesImpl } from './leases';
import { namespacesImpl } from './namespaces';
import { snapshotsImpl } from './snapshots';
import { SPEC_TYPE_URL, TaskShims, tasksImpl } from './tasks';

// Integration tests: a real berthd serving Tasks through real berth-shims (dist/cli.js of
// @berth/shim) and runc/crun, driven by a typed gRPC client and by the real ctr. Root only.
const isRoot = process.getuid?.() === 0;
const NS = 'tasks-it';
const { Status } = taskTypes;
const exec = promisify(execFile);

const busybox: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
};

let engine: TestEngine;
let shims: TaskShims;
let lower: string;
let tasks: GrpcClient<(typeof tasksService.Tasks)['methods']>;
let containers: GrpcClient<(typeof containersService.Containers)['methods']>;
let snapshots: GrpcClient<(typeof snapshotsService.Snapshots)['methods']>;
let seq = 0;

/** The client ends of a process's FIFOs, opened as ctr opens them (non-blocking). */
class FifoIO {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  private readonly out: Promise<string>;
  private readonly err: Promise<string>;
  constructor(dir: string, name: string) {
    [this.stdin, this.stdout, this.stderr] = ['stdin', 'stdout', 'stderr'].map((s) => join(dir, `${name}-${s}`)) as [string, string, string];
    for (const p of [this.stdin, this.stdout, this.stderr]) mkfifo(p, 0o600);
    this.out = collect(this.stdout);
    this.err = collect(this.stderr);
  }
  async output(): Promise<{ stdout: string; stderr: string }> {
    return { stdout: await this.out, stderr: await this.err };
  }
}

function collect(path: string): Promise<string> {
  const s = new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m.startsWith(dir));
}

const kindIs = (kind: ErrorKind) => (e: unknown) => kindOf(e) === kind;

/** A container record whose spec runs `args` (no snapshot), and an overlay rootfs over the busybox tree. */
async function makeContainer(args: string[], opts: { snapshot?: boolean } = {}) {
  const id = `t${process.pid}-${++seq}`;
  const spec = await generateSpec({ image: busybox, rootfs: lower, id, args });
  const record: Parameters<typeof containers.create>[0]['container'] = {
    id,
    runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: runcOptions.Options.encode({}) } },
    spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)) },
  };
  if (opts.snapshot) {
    // A native snapshot holding a copy of the rootfs: Tasks.Create finds its mounts itself.
    const [m] = (await snapshots.prepare({ snapshotter: 'native', key: id })).mounts;
    await exec('cp', ['-a', `${lower}/.`, m!.source]);
    Object.assign(record!, { snapshotter: 'native', snapshotKey: id });
  }
  await containers.create({ container: record });
  const dir = join(engine.dir, 'io', id);
  await mkdir(join(dir, 'upper'), { recursive: true });
  await mkdir(join(dir, 'work'), { recursive: true });
  const rootfs = opts.snapshot
    ? []
    : [{ type: 'overlay', source: 'overlay', target: '', options: [`lowerdir=${lower}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`] }];
  return { id, dir, rootfs };
}

beforeAll(async () => {
  if (!isRoot) return;
  engine = await startTestEngine(
    (server, ctx) => {
      shims = new TaskShims(ctx, { idleExitMs: 600_000 });
      addService(server, namespacesService.Namespaces, namespacesImpl(ctx));
      addService(server, leasesService.Leases, leasesImpl(ctx));
      addService(server, containersService.Containers, containersImpl(ctx));
      addService(server, snapshotsService.Snapshots, snapshotsImpl(ctx));
      addService(server, tasksService.Tasks, tasksImpl(ctx, { shims }));
    },
    { prefix: 'berth-tasks-' },
  );
  lower = join(engine.dir, 'busybox');
  await writeRootfs('busybox', lower);
  tasks = createGrpcClient(engine.address, tasksService.Tasks, { namespace: NS });
  containers = createGrpcClient(engine.address, containersService.Containers, { namespace: NS });
  snapshots = createGrpcClient(engine.address, snapshotsService.Snapshots, { namespace: NS });
}, 120_000);

afterAll(async () => {
  if (!isRoot) return;
  await shims?.shutdownAll();
  tasks?.close();
  containers?.close();
  snapshots?.close();
  const left = engine ? mountsUnder(engine.dir) : [];
  await engine?.stop();
  expect(left).toEqual([]);
}, 60_000);

describe.skipIf(!isRoot)('Tasks over berth-shim', () => {
  it('creates, starts, waits for and deletes a task, with its output and exit codes 0 and 3', async () => {
    for (const [script, code] of [
      ['echo out; echo err >&2; exit 3', 3],
      ['echo out; echo err >&2', 0],
    ] as const) {
      const c = await makeContainer(['sh', '-c', script]);
      const io = new FifoIO(c.dir, 'io');
      const created = await tasks.create({ containerId: c.id, rootfs: c.rootfs, stdout: io.stdout, stderr: io.stderr });
      expect(created.containerId).toBe(c.id);
      expect(created.pid).toBeGreaterThan(0);
      const got = (await tasks.get({ containerId: c.id })).process!;
      expect(got).toMatchObject({ id: c.id, pid: created.pid, status: Status.CREATED, stdout: io.stdout, stderr: io.stderr });
      const waiting = tasks.wait({ containerId: c.id });
      expect((await tasks.start({ containerId: c.id })).pid).toBe(created.pid);
      const waited = await waiting;
      expect(waited.exitStatus).toBe(code);
      expect(Number(waited.exitedAt?.seconds)).toBeGreaterThan(0);
      expect((await tasks.get({ containerId: c.id })).process).toMatchObject({ status: Status.STOPPED, exitStatus: code });
      expect(await io.output()).toEqual({ stdout: 'out\n', stderr: 'err\n' });
      const deleted = await tasks.delete({ containerId: c.id });
      expect(deleted).toMatchObject({ id: c.id, pid: created.pid, exitStatus: code });
      await expect(tasks.get({ containerId: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
      await expect(tasks.delete({ containerId: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
      expect(await readdir(join(engine.dir, 'state', 'shims', NS))).not.toContain(c.id);
      expect(mountsUnder(join(engine.dir, 'state'))).toEqual([]);
    }
  });

  it('is NotFound for an unknown container or task, AlreadyExists for a second Create', async () => {
    await expect(tasks.create({ containerId: 'nope' })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
    await expect(tasks.get({ containerId: 'nope' })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
    await expect(tasks.get({ containerId: 'x' }, { namespace: 'no-shim-here' })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
    await expect(tasks.kill({ containerId: 'nope', signal: 9 })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
    const c = await makeContainer(['sleep', '1000']);
    await tasks.create({ containerId: c.id, rootfs: c.rootfs });
    await expect(tasks.create({ containerId: c.id, rootfs: c.rootfs })).rejects.toSatisfy(kindIs(ErrorKind.AlreadyExists));
    await expect(tasks.checkpoint({ containerId: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotImplemented));
    await tasks.delete({ containerId: c.id }); // never started: CREATED tasks can be deleted
    await expect(tasks.get({ containerId: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
  });

  it('kills with 137, execs with its own exit code, lists, pauses, lists pids', async () => {
    const c = await makeContainer(['sleep', '1000']);
    await tasks.create({ containerId: c.id, rootfs: c.rootfs });
    const { pid } = await tasks.start({ containerId: c.id });
    const listed = (await tasks.list({})).tasks.find((t) => t.id === c.id);
    expect(listed).toMatchObject({ id: c.id, pid, status: Status.RUNNING });

    const io = new FifoIO(c.dir, 'e1');
    const proc = { args: ['sh', '-c', 'echo in-exec; exit 5'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } };
    await tasks.exec({
      containerId: c.id,
      execId: 'e1',
      stdout: io.stdout,
      stderr: io.stderr,
      spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(proc)) },
    });
    expect((await tasks.get({ containerId: c.id, execId: 'e1' })).process).toMatchObject({ id: 'e1', status: Status.CREATED });
    const execWait = tasks.wait({ containerId: c.id, execId: 'e1' });
    await tasks.start({ containerId: c.id, execId: 'e1' });
    expect((await execWait).exitStatus).toBe(5);
    expect((await io.output()).stdout).toBe('in-exec\n');
    expect(await tasks.deleteProcess({ containerId: c.id, execId: 'e1' })).toMatchObject({ id: 'e1', exitStatus: 5 });

    await tasks.pause({ containerId: c.id });
    expect((await tasks.get({ containerId: c.id })).process?.status).toBe(Status.PAUSED);
    await tasks.resume({ containerId: c.id });
    expect((await tasks.listPids({ containerId: c.id })).processes.map((p) => p.pid)).toContain(pid);
    const { metrics } = await tasks.metrics({ filters: [`id==${c.id}`] });
    expect(metrics.map((m) => m.id)).toEqual([c.id]);

    const waiting = tasks.wait({ containerId: c.id });
    await tasks.kill({ containerId: c.id, signal: 9 });
    expect((await waiting).exitStatus).toBe(137);
    expect((await tasks.delete({ containerId: c.id })).exitStatus).toBe(137);
  });

  it('takes the rootfs from the container snapshot when Create sends none', async () => {
    const c = await makeContainer(['sh', '-c', 'echo hi > /f; cat /f; exit 0'], { snapshot: true });
    const io = new FifoIO(c.dir, 'io');
    await tasks.create({ containerId: c.id, stdout: io.stdout, stderr: io.stderr });
    const waiting = tasks.wait({ containerId: c.id });
    await tasks.start({ containerId: c.id });
    expect((await waiting).exitStatus).toBe(0);
    expect((await io.output()).stdout).toBe('hi\n');
    await tasks.delete({ containerId: c.id });
    expect(mountsUnder(join(engine.dir, 'state'))).toEqual([]);
  });

  describe.skipIf(!hasCtr)('with ctr', () => {
    it('tasks ls shows RUNNING, tasks ps the pid, tasks exec runs, tasks kill stops, containers rm cleans up', async () => {
      const c = await makeContainer(['sleep', '1000'], { snapshot: true });
      await tasks.create({ containerId: c.id });
      const { pid } = await tasks.start({ containerId: c.id });
      const ls = ctrTable(await ctr(engine.address, '-n', NS, 'tasks', 'ls'), ['TASK', 'PID', 'STATUS']);
      expect(ls).toContainEqual({ TASK: c.id, PID: String(pid), STATUS: 'RUNNING' });
      const ps = ctrTable(await ctr(engine.address, '-n', NS, 'tasks', 'ps', c.id), ['PID', 'INFO']);
      expect(ps.map((r) => r.PID)).toContain(String(pid));
      const fifoDir = join(engine.dir, 'fifo');
      expect(await ctr(engine.address, '-n', NS, 'tasks', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'x1', c.id, 'echo', 'from-exec')).toBe('from-exec\n');

      const waiting = tasks.wait({ containerId: c.id });
      await ctr(engine.address, '-n', NS, 'tasks', 'kill', '-s', 'SIGKILL', c.id);
      expect((await waiting).exitStatus).toBe(137);
      const stopped = ctrTable(await ctr(engine.address, '-n', NS, 'tasks', 'ls'), ['TASK', 'PID', 'STATUS']);
      expect(stopped).toContainEqual({ TASK: c.id, PID: String(pid), STATUS: 'STOPPED' });

      // containers rm: Tasks.Get finds the STOPPED task, Tasks.Delete, then Snapshots.Remove and Containers.Delete.
      await ctr(engine.address, '-n', NS, 'containers', 'rm', c.id);
      await expect(tasks.get({ containerId: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
      await expect(containers.get({ id: c.id })).rejects.toSatisfy(kindIs(ErrorKind.NotFound));
      expect(ctrTable(await ctr(engine.address, '-n', NS, 'tasks', 'ls'), ['TASK'])).not.toContainEqual({ TASK: c.id });
    });
  });
});
