import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, kindOf } from '@berth/errdefs';
import type { ImageConfig, Process } from '@berth/spec';
import { writeRootfs } from '@berth/testimages';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSpec } from '../spec/generate';
import type { GenerateSpecOptions } from '../spec/types';
import { detectRuntimes } from './detect';
import { createRuntime } from './oci-runtime';
import type { OciRuntime, RuntimeFlavor } from './types';

// Integration tests against the real runc and crun on this host; they need root.
const isRoot = process.getuid?.() === 0;
const flavors: RuntimeFlavor[] = ['runc', 'crun'];
const prefix = `bt${process.pid}`;
const image: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' },
};

let base: string;
let rootfs: string;
let seq = 0;

beforeAll(async () => {
  if (!isRoot) return;
  base = await mkdtemp(join(tmpdir(), 'berth-runtime-it-'));
  rootfs = join(base, 'rootfs');
  await writeRootfs('busybox', rootfs);
}, 60_000);

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const testSleeps = (): number[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\x001000\x00';
      } catch {
        return false;
      }
    })
    .map(Number);

describe.skipIf(!isRoot).each(flavors)('%s', (flavor) => {
  let rt: OciRuntime;
  const created: string[] = [];

  beforeAll(() => {
    rt = createRuntime({ binary: flavor, root: join(base, `state-${flavor}`) });
  });

  afterEach(async () => {
    for (const id of created.splice(0)) {
      await rt.kill(id, 'SIGKILL', { all: true }).catch(() => undefined);
      await rt.delete(id, { force: true }).catch((err) => {
        if (kindOf(err) !== ErrorKind.NotFound) throw err;
      });
    }
  });

  // A bundle with a generated config.json; the shared rootfs is read-only in every container.
  async function bundle(over: Partial<GenerateSpecOptions> = {}): Promise<{ id: string; dir: string }> {
    const id = `${prefix}-${flavor}-${++seq}`;
    const dir = join(base, 'bundles', id);
    await mkdir(dir, { recursive: true });
    const spec = await generateSpec({ image, rootfs, id, readonlyRootfs: true, ...over });
    await writeFile(join(dir, 'config.json'), JSON.stringify(spec));
    created.push(id);
    return { id, dir };
  }

  function outputs(dir: string): { fds: [number, number]; read(): Promise<[string, string]> } {
    const out = join(dir, 'stdout');
    const err = join(dir, 'stderr');
    const fds: [number, number] = [openSync(out, 'w'), openSync(err, 'w')];
    return {
      fds,
      async read() {
        closeSync(fds[0]);
        closeSync(fds[1]);
        return [await readFile(out, 'utf8'), await readFile(err, 'utf8')];
      },
    };
  }

  it('run: exact stdout, stderr and exit code', async () => {
    const { id, dir } = await bundle({ args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    const io = outputs(dir);
    const code = await rt.run(id, dir, { stdio: ['ignore', io.fds[0], io.fds[1]] });
    expect(await io.read()).toEqual(['out\n', 'err\n']);
    expect(code).toBe(3);
    await expect(rt.state(id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it('run: env, cwd and user come from the spec', async () => {
    const { id, dir } = await bundle({
      args: ['sh', '-c', 'id -u; id -g; id -G; pwd; hostname; env | sort'],
      user: 'user',
      cwd: '/home/user',
      env: ['FOO=bar'],
      hostname: 'box',
    });
    const io = outputs(dir);
    expect(await rt.run(id, dir, { stdio: ['ignore', io.fds[0], io.fds[1]] })).toBe(0);
    const [out, err] = await io.read();
    expect(err).toBe('');
    const lines = out.trim().split('\n');
    expect(lines.slice(0, 5)).toEqual(['1000', '1000', '1000 50', '/home/user', 'box']);
    expect(lines).toContain('FOO=bar');
    expect(lines).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('lifecycle: create, start, ps, exec, pause, resume, update, kill, delete', async () => {
    // A shell that handles TERM as init: the kernel drops signals without a handler sent to a
    // pid namespace's init, so a bare `sleep` as pid 1 would ignore SIGTERM.
    const { id, dir } = await bundle({ args: ['sh', '-c', 'trap "exit 143" TERM; sleep 1000 & wait'] });
    const pidFile = join(dir, 'init.pid');
    await rt.create(id, dir, { pidFile });
    const createdState = await rt.state(id);
    expect(createdState).toMatchObject({ id, status: 'created', bundle: dir });
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(createdState.pid).toBe(pid);
    await expect(rt.create(id, dir, { pidFile })).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.AlreadyExists);

    await rt.start(id);
    expect((await rt.state(id)).status).toBe('running');
    await expect(rt.start(id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
    await waitFor('sleep child', async () => (await rt.ps(id)).length === 2);
    expect(await rt.ps(id)).toContain(pid);
    expect((await rt.list()).map((s) => s.id)).toContain(id);

    const io = outputs(dir);
    const proc: Process = { user: { uid: 0, gid: 0 }, args: ['echo', 'hi'], env: ['PATH=/bin'], cwd: '/', terminal: false };
    expect(await rt.exec(id, proc, { stdio: ['ignore', io.fds[0], io.fds[1]] })).toBe(0);
    expect(await io.read()).toEqual(['hi\n', '']);
    expect(await rt.exec(id, { ...proc, args: ['sh', '-c', 'exit 7'] })).toBe(7);

    await rt.pause(id);
    expect((await rt.state(id)).status).toBe('paused');
    await rt.resume(id);
    expect((await rt.state(id)).status).toBe('running');

    await rt.update(id, { pids: { limit: 42 } });
    expect(readFileSync(`/sys/fs/cgroup/pids/berth/${id}/pids.max`, 'utf8').trim()).toBe('42');

    await rt.kill(id, 'SIGTERM');
    await waitFor('stopped', async () => (await rt.state(id)).status === 'stopped');
    await rt.delete(id);
    await expect(rt.state(id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    expect(existsSync(join(rt.root, id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/berth/${id}`)).toBe(false);
  });

  it('runs from a sealed copy, which the runtime then does not copy again for the init', async () => {
    const { id, dir } = await bundle({ args: ['true'] });
    const pidFile = join(dir, 'init.pid');
    await rt.create(id, dir, { pidFile });
    // Until started, the init is still the runtime's own program: our copy, not one of its own.
    const initPid = Number(await readFile(pidFile, 'utf8'));
    expect(readlinkSync(`/proc/${initPid}/exe`)).toBe(`/memfd:${flavor} (deleted)`);
    // Its argv[0] is still the runtime's path, and it is named after the copy (runc renames its init itself).
    expect(readFileSync(`/proc/${initPid}/cmdline`, 'utf8').split('\0')[0]).toMatch(new RegExp(`/${flavor}$`));
    expect(readFileSync(`/proc/${initPid}/comm`, 'utf8')).toBe(flavor === 'crun' ? 'memfd:crun\n' : 'runc:[2:INIT]\n');
    const plain = createRuntime({ binary: flavor, root: rt.root, sealedCopy: false });
    const other = await bundle({ args: ['true'] });
    await plain.create(other.id, other.dir, { pidFile: join(other.dir, 'init.pid') });
    expect(readlinkSync(`/proc/${Number(await readFile(join(other.dir, 'init.pid'), 'utf8'))}/exe`)).not.toBe(`/memfd:${flavor} (deleted)`);
  });

  it('primes the cgroup attach for create and exec, and for nothing else', async () => {
    let primes = 0;
    const counted = createRuntime({ binary: flavor, root: rt.root, cgroupAttachPrimer: { prime: async () => void primes++ } });
    const { id, dir } = await bundle({ args: ['sleep', '1000'] });
    await counted.create(id, dir);
    expect(primes).toBe(1);
    await counted.start(id);
    await counted.state(id);
    expect(primes).toBe(1);
    const proc: Process = { user: { uid: 0, gid: 0 }, args: ['true'], env: ['PATH=/bin'], cwd: '/', terminal: false };
    expect(await counted.exec(id, proc)).toBe(0);
    expect(primes).toBe(2);
    await counted.kill(id, 'SIGKILL');
    await waitFor('stopped', async () => (await counted.state(id)).status === 'stopped');
    await counted.delete(id);
    expect(primes).toBe(2);
  });

  it('delete --force removes a running container', async () => {
    const { id, dir } = await bundle({ args: ['sleep', '1000'] });
    await rt.create(id, dir);
    await rt.start(id);
    await expect(rt.delete(id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
    await rt.delete(id, { force: true });
    await expect(rt.state(id)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
  });

  it('stats: runc events --stats, crun from the cgroup files', async () => {
    const { id, dir } = await bundle({ args: ['sleep', '1000'], resources: { memory: 64 * 1024 * 1024, pids: 50 } });
    await rt.create(id, dir);
    await rt.start(id);
    const stats = await rt.stats(id);
    expect(stats.pids?.current).toBe(1);
    expect(stats.pids?.limit).toBe(50);
    expect(stats.memory?.usage?.usage).toBeGreaterThan(0);
    expect(stats.memory?.usage?.limit).toBe(64 * 1024 * 1024);
    expect(stats.cpu?.usage?.total).toBeGreaterThan(0);
    // What ctr tasks metrics shows beyond the totals, from either runtime.
    expect(stats.cpu?.usage?.percpu?.length).toBeGreaterThan(0);
    expect(Object.keys(stats.memory?.raw ?? {})).toContain('rss');
    expect(stats.memory?.swap).toBeDefined();
  });

  it('maps errors to kinds', async () => {
    await expect(rt.state(`${prefix}-missing`)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    await expect(rt.kill(`${prefix}-missing`, 'SIGKILL')).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.NotFound);
    const missing = createRuntime({ binary: `/nonexistent/${flavor}`, root: join(base, 'nowhere') });
    await expect(missing.list()).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.Unavailable);
  });
});

describe.skipIf(!isRoot)('host', () => {
  it('detectRuntimes finds runc and crun working', async () => {
    const found = await detectRuntimes();
    expect(found.runtimes.map((r) => [r.flavor, r.works])).toEqual([
      ['runc', true],
      ['crun', true],
    ]);
    expect(found.default).toBeDefined();
  });

  it('leaves no containers, processes, cgroups or mounts behind', async () => {
    for (const flavor of flavors) {
      expect(await createRuntime({ binary: flavor, root: join(base, `state-${flavor}`) }).list()).toEqual([]);
    }
    expect(testSleeps()).toEqual([]);
    for (const controller of readdirSync('/sys/fs/cgroup')) {
      const dir = `/sys/fs/cgroup/${controller}/berth`;
      if (existsSync(dir)) expect(readdirSync(dir).filter((n) => n.startsWith(prefix)), dir).toEqual([]);
    }
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(base);
  });
});
