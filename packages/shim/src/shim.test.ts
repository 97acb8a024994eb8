import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupsV1, taskTypes } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { createRuntime } from '@berth/runtime';
import { writeRootfs } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTask } from './client/cleanup';
import { connectShim, type ShimClient } from './client/client';
import { bundleAddress, shimCliPath, shimSocketPath } from './client/paths';
import { startShim, type ShimHandle } from './client/start';
import { ClientIO, isAlive, makeBundle, mountsUnder, runToEnd, runtimeOptions, zombieChildren } from './test-harness';

// Integration tests: a real berth-shim process (dist/cli.js, built before the tests), real runc
// and crun, overlayfs rootfs mounts, FIFOs as ctr makes them. They need root.
const isRoot = process.getuid?.() === 0;
const flavors = ['runc', 'crun'] as const;
const { Status } = taskTypes;

let base: string;
let lower: string;
let shim: ShimHandle;
let client: ShimClient;
let seq = 0;

/** Runs the built berth-shim command; resolves with its stdout, rejects with its stderr. */
function berthShim(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [shimCliPath(), ...args], (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

beforeAll(async () => {
  if (!isRoot) return;
  base = await mkdtemp(join(tmpdir(), 'berth-shim-it-'));
  lower = join(base, 'busybox');
  await writeRootfs('busybox', lower);
  shim = await startShim({ group: `it-${process.pid}`, socketDir: join(base, 's'), runtime: 'runc', runtimeRoot: join(base, 'rt-runc'), idleExitMs: 600_000 });
  client = await connectShim(shim.address);
}, 60_000);

afterAll(async () => {
  if (!isRoot) return;
  // Normally the last test has shut the shim down; after a failure, do it here.
  await client?.shutdown({ now: true }).catch(() => {});
  client?.close();
  if (shim && isAlive(shim.pid)) process.kill(shim.pid, 'SIGKILL');
  if (base) await rm(base, { recursive: true, force: true });
});

describe.skipIf(!isRoot).each(flavors)('%s through berth-shim', (flavor) => {
  const runtimeRoot = (): string => join(base, `rt-${flavor}`);
  const options = () => runtimeOptions(flavor, runtimeRoot());
  const nextId = (): string => `shim-${flavor}-${process.pid}-${++seq}`;

  async function bundle(over: Parameters<typeof makeBundle>[3] = {}) {
    const id = nextId();
    const b = await makeBundle(base, id, lower, over);
    return { id, bundle: b.dir, rootfs: b.rootfs, options: options() };
  }

  it('keeps stdout and stderr apart, exactly, and reports exit codes 0 and 3', async () => {
    const t = await bundle({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    const r = await runToEnd(client, t, new ClientIO(t.bundle, 'io'));
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitStatus: 3 });
    const t0 = await bundle({ args: ['true'] });
    expect((await runToEnd(client, t0, new ClientIO(t0.bundle, 'io'))).exitStatus).toBe(0);
    expect(mountsUnder(t.bundle)).toEqual([]);
  });

  it('reports 137 after SIGKILL', async () => {
    const t = await bundle({ args: ['sleep', '1000'] });
    const io = new ClientIO(t.bundle, 'io');
    await client.create({ ...t, stdout: io.stdout, stderr: io.stderr });
    await client.start({ id: t.id });
    expect((await client.state({ id: t.id })).status).toBe(Status.RUNNING);
    await client.kill({ id: t.id, signal: 9 });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(137);
    const state = await client.state({ id: t.id });
    expect(state.status).toBe(Status.STOPPED);
    expect(state.exitStatus).toBe(137);
    const del = await client.delete({ id: t.id });
    expect(del.exitStatus).toBe(137);
    await expect(client.state({ id: t.id })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it('takes env, cwd and user from the image config and from overrides', async () => {
    const fromImage = await bundle({
      image: {
        ...(await import('./test-harness')).busyboxImage,
        config: { Cmd: ['sh', '-c', 'id -u; id -g; pwd; echo $FOO'], Env: ['PATH=/bin', 'FOO=image'], WorkingDir: '/tmp', User: '1000' },
      },
    });
    expect((await runToEnd(client, fromImage, new ClientIO(fromImage.bundle, 'io'))).stdout).toBe('1000\n1000\n/tmp\nimage\n');
    const overridden = await bundle({ args: ['sh', '-c', 'id -un; pwd; echo $FOO'], user: 'user', cwd: '/home/user', env: ['FOO=override'] });
    const r = await runToEnd(client, overridden, new ClientIO(overridden.bundle, 'io'));
    expect(r).toEqual({ stdout: 'user\n/home/user\noverride\n', stderr: '', exitStatus: 0 });
  });

  it('runs a TTY container with a resizable pty', async () => {
    const t = await bundle({ args: ['sh', '-c', 'tty; stty size; [ -t 0 ] && echo interactive'], terminal: true });
    const io = new ClientIO(t.bundle, 'tty', { stderr: false });
    await client.create({ ...t, terminal: true, stdout: io.stdout });
    await client.resizePty({ id: t.id, width: 100, height: 40 });
    await client.start({ id: t.id });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(0);
    const { stdout } = await io.output();
    expect(stdout).toBe('/dev/pts/0\r\n40 100\r\ninteractive\r\n');
    await client.delete({ id: t.id });
  });

  it('pipes stdin through cat until the client closes it and sends CloseIO', async () => {
    const t = await bundle({ args: ['cat'] });
    const r = await runToEnd(client, t, new ClientIO(t.bundle, 'io'), 'hello\nworld\n');
    expect(r).toEqual({ stdout: 'hello\nworld\n', stderr: '', exitStatus: 0 });
  });

  it('CloseIO closes the container stdin', async () => {
    const t = await bundle({ args: ['sh', '-c', 'cat; echo closed'] });
    const io = new ClientIO(t.bundle, 'io');
    await client.create({ ...t, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr });
    await client.start({ id: t.id });
    await client.closeIO({ id: t.id, stdin: true });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(0);
    expect((await io.output()).stdout).toBe('closed\n');
    await client.delete({ id: t.id });
  });

  it('delivers everything written to stdin before CloseIO, even what the container had not read yet', async () => {
    // The container reads nothing for a while: at CloseIO, most of the input still sits in the
    // FIFO and in the pipe to the container.
    const t = await bundle({ args: ['sh', '-c', 'sleep 0.3; wc -c'] });
    const io = new ClientIO(t.bundle, 'io');
    await client.create({ ...t, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr });
    await client.start({ id: t.id });
    await io.writeStdin(Buffer.alloc(100_000, 'x'));
    await client.closeIO({ id: t.id, stdin: true });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(0);
    expect((await io.output()).stdout.trim()).toBe('100000');
    await client.delete({ id: t.id });
    // A few bytes and CloseIO at once (as a client piping a short input does): CloseIO may
    // reach the shim before it has seen the FIFO readable.
    for (let i = 0; i < 10; i++) {
      const c = await bundle({ args: ['cat'] });
      const cio = new ClientIO(c.bundle, 'io');
      await client.create({ ...c, stdin: cio.stdin, stdout: cio.stdout, stderr: cio.stderr });
      await client.start({ id: c.id });
      await Promise.all([cio.writeStdin(`line ${i}\n`), client.closeIO({ id: c.id, stdin: true })]);
      await client.wait({ id: c.id });
      expect((await cio.output()).stdout).toBe(`line ${i}\n`);
      await client.delete({ id: c.id });
    }
  });

  it('delivers 1 MiB of output with nothing lost', async () => {
    const t = await bundle({ args: ['sh', '-c', 'yes 0123456789abcdef | head -c 1048576'] });
    const r = await runToEnd(client, t, new ClientIO(t.bundle, 'io'));
    expect(r.exitStatus).toBe(0);
    expect(r.stdout.length).toBe(1048576);
    expect(r.stdout).toBe('0123456789abcdef\n'.repeat(Math.ceil(1048576 / 17)).slice(0, 1048576));
  });

  it('execs into a running container with its own exit code and stdio', async () => {
    const t = await bundle({ args: ['sleep', '1000'] });
    await client.create(t);
    await client.start({ id: t.id });
    const io = new ClientIO(t.bundle, 'exec1');
    const spec = { args: ['sh', '-c', 'echo in-exec; echo exec-err >&2; exit 5'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } };
    await client.exec({ id: t.id, execId: 'e1', stdout: io.stdout, stderr: io.stderr, spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(spec)) } });
    expect((await client.state({ id: t.id, execId: 'e1' })).status).toBe(Status.CREATED);
    const { pid } = await client.start({ id: t.id, execId: 'e1' });
    expect(pid).toBeGreaterThan(0);
    expect((await client.wait({ id: t.id, execId: 'e1' })).exitStatus).toBe(5);
    expect(await io.output()).toEqual({ stdout: 'in-exec\n', stderr: 'exec-err\n' });
    expect((await client.delete({ id: t.id, execId: 'e1' })).exitStatus).toBe(5);
    expect((await client.state({ id: t.id })).status).toBe(Status.RUNNING);
    await expect(
      client.exec({ id: t.id, execId: 'e2', spec: { typeUrl: 'wrong', value: Buffer.from('{}') } }),
    ).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
    await client.kill({ id: t.id, signal: 9 });
    await client.wait({ id: t.id });
    await client.delete({ id: t.id });
  });

  it('pauses and resumes', async () => {
    const t = await bundle({ args: ['sleep', '1000'] });
    await client.create(t);
    await client.start({ id: t.id });
    await client.pause({ id: t.id });
    expect((await client.state({ id: t.id })).status).toBe(Status.PAUSED);
    await expect(client.delete({ id: t.id })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
    await client.resume({ id: t.id });
    expect((await client.state({ id: t.id })).status).toBe(Status.RUNNING);
    const { stats } = await client.stats({ id: t.id });
    expect(stats?.typeUrl).toBe('io.containerd.cgroups.v1.Metrics');
    expect(cgroupsV1.Metrics.decode(stats!.value).pids?.current).toBe(1);
    const { processes } = await client.pids({ id: t.id });
    expect(processes.map((p) => p.pid)).toContain((await client.state({ id: t.id })).pid);
    await client.kill({ id: t.id, signal: 9, all: true });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(137);
    await client.delete({ id: t.id });
  });

  it('kills with a chosen signal', async () => {
    const t = await bundle({ args: ['sh', '-c', 'trap "echo got USR1; exit 7" USR1; while true; do sleep 0.05; done'] });
    const io = new ClientIO(t.bundle, 'io');
    await client.create({ ...t, stdout: io.stdout, stderr: io.stderr });
    await client.start({ id: t.id });
    await sleep(200); // let the shell install its trap
    await client.kill({ id: t.id, signal: 10 });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(7);
    expect((await io.output()).stdout).toBe('got USR1\n');
    await client.delete({ id: t.id });
  });

  it('keeps the status of a container that exited while nobody waited', async () => {
    const t = await bundle({ args: ['sh', '-c', 'exit 42'] });
    await client.create(t);
    await client.start({ id: t.id });
    for (let i = 0; i < 200 && !existsSync(join(t.bundle, 'exits', 'init.json')); i++) await sleep(10);
    const later = await connectShim(bundleAddress(t.bundle)!);
    try {
      const state = await later.state({ id: t.id });
      expect(state.status).toBe(Status.STOPPED);
      expect(state.exitStatus).toBe(42);
      expect((await later.wait({ id: t.id })).exitStatus).toBe(42);
      expect((await later.delete({ id: t.id })).exitStatus).toBe(42);
    } finally {
      later.close();
    }
    expect(existsSync(join(t.bundle, 'exits', 'init.json'))).toBe(false);
  });

  it("deletes the container from the runtime when its init exits, killing what it left in the host's pid namespace", async () => {
    const t = await bundle({ args: ['sh', '-c', 'sleep 987 >/dev/null 2>&1 & echo $!'] });
    const config = join(t.bundle, 'config.json');
    const spec = JSON.parse(await readFile(config, 'utf8')) as { linux: { namespaces: { type: string }[] } };
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'pid');
    await writeFile(config, JSON.stringify(spec));
    const io = new ClientIO(t.bundle, 'io');
    await client.create({ ...t, stdout: io.stdout, stderr: io.stderr });
    await client.start({ id: t.id });
    expect((await client.wait({ id: t.id })).exitStatus).toBe(0);
    const orphan = Number((await io.output()).stdout.trim());
    expect(orphan).toBeGreaterThan(0);
    const runtime = createRuntime({ binary: flavor, root: runtimeRoot() });
    for (let i = 0; i < 300 && (isAlive(orphan) || (await runtime.list()).some((c) => c.id === t.id)); i++) await sleep(10);
    expect(isAlive(orphan)).toBe(false);
    expect((await runtime.list()).map((c) => c.id)).not.toContain(t.id);
    expect((await client.state({ id: t.id })).status).toBe(Status.STOPPED);
    expect((await client.pids({ id: t.id })).processes).toEqual([]);
    await expect(client.kill({ id: t.id, signal: 9, all: true })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    expect((await client.delete({ id: t.id })).exitStatus).toBe(0);
    expect(mountsUnder(t.bundle)).toEqual([]);
  });

  it('refuses bad input and leaves nothing behind', async () => {
    const t = await bundle({ args: ['true'] });
    await expect(client.create({ id: 'bad/id', bundle: t.bundle })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
    await expect(client.create({ id: t.id, bundle: join(base, 'nowhere') })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
    await expect(client.start({ id: 'nope' })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    // A spec the runtime refuses: the rootfs mount and the runtime state are undone.
    await writeFile(join(t.bundle, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', process: { args: ['true'], cwd: 'relative' }, root: { path: 'rootfs' } }));
    await expect(client.create(t)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
    expect(mountsUnder(t.bundle)).toEqual([]);
    await expect(createRuntime({ binary: flavor, root: runtimeRoot() }).state(t.id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    await expect(client.state({ id: t.id })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it('survives the SIGKILL of the process that started the container', async () => {
    const t = await bundle({ args: ['sh', '-c', 'sleep 1; exit 4'] });
    const script = join(base, `starter-${flavor}.mjs`);
    await writeFile(
      script,
      `import { startShim, connectShim } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const t = JSON.parse(process.argv[2]);
t.options.value = Buffer.from(t.options.value, 'base64');
const shim = await startShim(${JSON.stringify({ group: `it-${process.pid}`, socketDir: join(base, 's') })});
const c = await connectShim(shim.address);
await c.create(t);
await c.start({ id: t.id });
process.stdout.write('started\\n');
setInterval(() => {}, 1000);
`,
    );
    const arg = JSON.stringify({ ...t, options: { typeUrl: t.options!.typeUrl, value: Buffer.from(t.options!.value).toString('base64') } });
    const starter = spawn(process.execPath, [script, arg], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      starter.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
      starter.on('exit', (code) => reject(new Error(`starter exited ${code}`)));
    });
    starter.kill('SIGKILL');
    const again = await connectShim(bundleAddress(t.bundle)!);
    try {
      expect((await again.state({ id: t.id })).status).toBe(Status.RUNNING);
      expect((await again.wait({ id: t.id })).exitStatus).toBe(4);
      await again.delete({ id: t.id });
    } finally {
      again.close();
    }
  });

  it('cleans up after a SIGKILLed shim: exit 137, no mounts, no runtime state', async () => {
    const own = await startShim({ group: `it-dead-${flavor}-${process.pid}`, socketDir: join(base, 's'), runtime: flavor, runtimeRoot: runtimeRoot() });
    const c = await connectShim(own.address);
    const t = await bundle({ args: ['sleep', '1000'] });
    const { pid } = await c.create(t);
    await c.start({ id: t.id });
    c.close();
    process.kill(own.pid, 'SIGKILL');
    for (let i = 0; i < 200 && isAlive(own.pid); i++) await sleep(10);
    expect(isAlive(pid)).toBe(true);
    // The cleanup command, as an engine runs it for a shim it finds dead.
    const r = JSON.parse(await berthShim('delete', '--bundle', t.bundle, '--id', t.id)) as Awaited<ReturnType<typeof cleanupTask>>;
    expect(r.exitStatus).toBe(137);
    expect(r.pid).toBe(pid);
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(10);
    expect(isAlive(pid)).toBe(false);
    expect(mountsUnder(t.bundle)).toEqual([]);
    await expect(createRuntime({ binary: flavor, root: runtimeRoot() }).state(t.id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    expect(existsSync(own.socket)).toBe(false);
  });
});

describe.skipIf(!isRoot)('berth-shim start', () => {
  it('starts one shim per group, even for racing callers, and prints its address', async () => {
    const args = ['start', '--group', `it-start-${process.pid}`, '--socket-dir', join(base, 's'), '--runtime', 'runc', '--runtime-root', join(base, 'rt-runc')];
    const addresses = await Promise.all([berthShim(...args), berthShim(...args), berthShim(...args)]);
    expect(new Set(addresses).size).toBe(1);
    const address = addresses[0]!.trim();
    expect(address).toMatch(/^unix:\/\/.*\.sock$/);
    const c = await connectShim(address);
    const { shimPid } = await c.connect({});
    expect(await berthShim(...args)).toBe(addresses[0]);
    expect(zombieChildren(process.pid)).toEqual([]);
    await c.shutdown({});
    c.close();
    for (let i = 0; i < 300 && isAlive(shimPid); i++) await sleep(10);
    expect(isAlive(shimPid)).toBe(false);
    // A dead shim's socket does not fool the next start: a new shim takes its place.
    const again = await startShim({ group: `it-start-${process.pid}`, socketDir: join(base, 's'), runtime: 'runc', runtimeRoot: join(base, 'rt-runc'), idleExitMs: 100 });
    expect(again.reused).toBe(false);
    expect(again.pid).not.toBe(shimPid);
    for (let i = 0; i < 300 && isAlive(again.pid); i++) await sleep(10);
    expect(isAlive(again.pid)).toBe(false); // idle exit
  });

  it('waits for a start lock that was just created and is still empty, instead of taking it over', async () => {
    const group = `it-lock-${process.pid}`;
    const lock = `${shimSocketPath(join(base, 's'), group)}.lock`;
    await writeFile(lock, ''); // another caller's lock, between its create and its write of the pid
    let settled = false;
    const started = startShim({ group, socketDir: join(base, 's'), runtime: 'runc', runtimeRoot: join(base, 'rt-runc'), idleExitMs: 100 }).finally(() => (settled = true));
    await sleep(300);
    expect(settled).toBe(false);
    await rm(lock);
    const shim = await started;
    expect(shim.reused).toBe(false);
    for (let i = 0; i < 300 && isAlive(shim.pid); i++) await sleep(10);
    expect(isAlive(shim.pid)).toBe(false); // idle exit
  });

  it('Shutdown{now} ends the shim even with a running container, which keeps running', async () => {
    const own = await startShim({ group: `it-now-${process.pid}`, socketDir: join(base, 's'), runtime: 'runc', runtimeRoot: join(base, 'rt-runc') });
    const c = await connectShim(own.address);
    const id = `shim-now-${process.pid}`;
    const b = await makeBundle(base, id, lower, { args: ['sleep', '1000'] });
    const { pid } = await c.create({ id, bundle: b.dir, rootfs: b.rootfs });
    await c.start({ id });
    await c.shutdown({ now: true });
    c.close();
    for (let i = 0; i < 300 && isAlive(own.pid); i++) await sleep(10);
    expect(isAlive(own.pid)).toBe(false);
    expect(isAlive(pid)).toBe(true);
    expect((await cleanupTask({ bundle: b.dir, id })).exitStatus).toBe(137);
    expect(mountsUnder(b.dir)).toEqual([]);
  });

  it('the CLI explains its usage', async () => {
    await expect(berthShim('frobnicate')).rejects.toThrow(/usage:/);
  });
});

describe.skipIf(!isRoot)('after the suite', () => {
  it('leaves no zombies, mounts, runtime state or tasks', async () => {
    expect(zombieChildren(shim.pid)).toEqual([]);
    expect(zombieChildren(process.pid)).toEqual([]);
    expect(mountsUnder(base)).toEqual([]);
    for (const flavor of flavors) expect(await createRuntime({ binary: flavor, root: join(base, `rt-${flavor}`) }).list()).toEqual([]);
    await client.shutdown({ now: false });
    for (let i = 0; i < 300 && isAlive(shim.pid); i++) await sleep(10);
    expect(isAlive(shim.pid)).toBe(false);
  });
});
