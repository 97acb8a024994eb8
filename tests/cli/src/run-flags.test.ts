import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDaemon, startDaemonWithBusybox } from './harness';

// `run`/`create` flags that shape the container: --mount (bind, tmpfs), --read-only, --memory,
// --cpus, --pids-limit, checked from inside real containers against a live berthd (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;
const scratch = mkdtempSync(join(tmpdir(), 'berth-cli-flags-scratch-'));

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemonWithBusybox('berth-cli-flags-');
}, 120_000);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await d?.stop();
}, 60_000);

/** The cgroup v1 file `controller/file` as the container sees it, or the v2 `v2file` on a unified host. */
const cgroupV2 = !readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup ');
function cgroupFile(v1: string, v2: string): string {
  return cgroupV2 ? `/sys/fs/cgroup/${v2}` : `/sys/fs/cgroup/${v1}`;
}

describe.skipIf(!isRoot)('run --mount', () => {
  it('binds a host directory read-write, and read-only with readonly', async () => {
    const dir = mkdtempSync(join(scratch, 'bind-'));
    writeFileSync(join(dir, 'from-host'), 'host says hi\n');
    const rw = await d.berth(['run', '--rm', '--mount', `type=bind,source=${dir},target=/data`, 'busybox', 'sh', '-c', 'cat /data/from-host; echo back > /data/from-container']);
    expect(rw).toEqual({ code: 0, stdout: 'host says hi\n', stderr: '' });
    expect(readFileSync(join(dir, 'from-container'), 'utf8')).toBe('back\n');
    const ro = await d.berth(['run', '--rm', '--mount', `type=bind,src=${dir},dst=/data,readonly`, 'busybox', 'sh', '-c', 'cat /data/from-host; touch /data/nope']);
    expect(ro.code).toBe(1);
    expect(ro.stdout).toBe('host says hi\n');
    expect(ro.stderr).toContain('Read-only file system');
  });

  it('mounts a tmpfs with its size and mode', async () => {
    const r = await d.berth(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %a /t; stat -f -c %T /t']);
    expect(r.code, r.stderr).toBe(0);
    const [mount, mode, fsType] = r.stdout.trim().split('\n');
    expect(mount).toMatch(/^tmpfs \/t tmpfs rw,/);
    expect(mount).toContain('size=2048k');
    expect(mode).toBe('1770');
    expect(fsType).toBe('tmpfs');
    const inspect = await d.berth(['create', '--mount', 'type=tmpfs,destination=/scratch', 'busybox', 'true']);
    const mounts = JSON.parse((await d.berth(['inspect', '--format', '{{json .Mounts}}', inspect.stdout.trim()])).stdout) as unknown[];
    expect(mounts).toEqual([{ Type: 'tmpfs', Source: '', Destination: '/scratch', RW: true }]);
    expect((await d.berth(['rm', inspect.stdout.trim()])).code).toBe(0);
  });
});

describe.skipIf(!isRoot)('run --read-only', () => {
  it('makes / read-only but leaves tmpfs mounts writable', async () => {
    const r = await d.berth(['run', '--rm', '--read-only', '--mount', 'type=tmpfs,target=/tmp', 'busybox', 'sh', '-c', 'echo ok > /tmp/x && cat /tmp/x; echo no > /etc/x']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ok\n');
    expect(r.stderr).toContain('Read-only file system');
    expect((await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo yes > /etc/x && cat /etc/x'])).stdout).toBe('yes\n');
  });
});

describe.skipIf(!isRoot)('run resource limits', () => {
  it('--memory/-m sets the memory limit the container sees', async () => {
    const file = cgroupFile('memory/memory.limit_in_bytes', 'memory.max');
    expect(await d.berth(['run', '--rm', '-m', '64m', 'busybox', 'cat', file])).toEqual({ code: 0, stdout: `${64 * 1024 * 1024}\n`, stderr: '' });
    expect((await d.berth(['run', '--rm', '--memory=1.5g', 'busybox', 'cat', file])).stdout).toBe(`${1.5 * 1024 ** 3}\n`);
  });

  it('--cpus sets the CFS quota over a 100000 µs period', async () => {
    const files = cgroupV2 ? ['cpu.max'] : ['cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us'];
    const r = await d.berth(['run', '--rm', '--cpus', '0.5', 'busybox', 'cat', ...files.map((f) => `/sys/fs/cgroup/${f}`)]);
    expect(r).toEqual({ code: 0, stdout: cgroupV2 ? '50000 100000\n' : '50000\n100000\n', stderr: '' });
  });

  it('--pids-limit sets pids.max', async () => {
    expect(await d.berth(['run', '--rm', '--pids-limit', '42', 'busybox', 'cat', cgroupFile('pids/pids.max', 'pids.max')])).toEqual({ code: 0, stdout: '42\n', stderr: '' });
  });

  it('inspect shows the limits', async () => {
    const id = (await d.berth(['create', '-m', '100m', '--cpus', '1.5', '--pids-limit', '7', '--read-only', 'busybox', 'true'])).stdout.trim();
    const host = JSON.parse((await d.berth(['inspect', '--format', '{{json .HostConfig}}', id])).stdout) as Record<string, unknown>;
    expect(host).toEqual({ Memory: 100 * 1024 * 1024, NanoCpus: 1_500_000_000, CpuQuota: 150_000, CpuPeriod: 100_000, PidsLimit: 7, ReadonlyRootfs: true });
    expect((await d.berth(['rm', id])).code).toBe(0);
  });
});

describe.skipIf(!isRoot)('invalid flag values', () => {
  const cpus = availableParallelism();
  it.each([
    [['-m', '12x'], `invalid argument "12x" for "-m, --memory" flag: invalid size: '12x'`],
    [['--memory', '4m'], 'Minimum memory limit allowed is 6MB'],
    [['--cpus', 'lots'], 'invalid argument "lots" for "--cpus" flag: failed to parse lots as a rational number'],
    [['--cpus', String(cpus + 1)], `Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`],
    [['--pids-limit', 'ten'], 'invalid argument "ten" for "--pids-limit" flag: strconv.ParseInt: parsing "ten": invalid syntax'],
    [['--mount', 'target=/x'], 'invalid argument "target=/x" for "--mount" flag: type is required'],
    [['--mount', 'type=tmpfs'], 'invalid argument "type=tmpfs" for "--mount" flag: target is required'],
    [['--mount', 'type=tmpfs,target=/t,size=1'], `unexpected key 'size' in 'size=1'`],
    [['--mount', 'type=bind,source=/no/such/dir,target=/x'], 'invalid mount config for type "bind": bind source path does not exist: /no/such/dir'],
    [['--mount', 'type=tmpfs,source=/tmp,target=/x'], 'invalid mount config for type "tmpfs": field Source must not be specified'],
    [['--mount', 'type=volume,target=/x'], 'invalid mount config for type "volume"'],
  ])('%j exits 125 with Docker\'s message and creates nothing', async (flags, message) => {
    for (const cmd of ['run', 'create']) {
      const r = await d.berth([cmd, ...flags, '--name', 'never', 'busybox', 'true']);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    }
    expect((await d.berth(['ps', '-a', '-q'])).stdout).toBe('');
  });
});
