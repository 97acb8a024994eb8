import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDaemon, until, startDaemonWithBusybox } from './harness';

// restart, top, stats, system df/prune against a live berthd (root only); login/logout on files.
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemonWithBusybox('berth-cli-mgmt-');
}, 120_000);

afterAll(async () => {
  await d?.stop();
}, 60_000);


async function pidOf(ref: string): Promise<number> {
  return (JSON.parse((await d.berth(['inspect', '--format', '{{json .State}}', ref])).stdout) as { Pid: number }).Pid;
}

describe.skipIf(!isRoot)('restart, top, stats', () => {
  it('restart stops and starts a running container, and starts a created one', async () => {
    expect((await d.berth(['run', '-d', '--name', 'again', 'busybox', 'sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 0.1; done'])).code).toBe(0);
    await until(async () => (await d.berth(['logs', 'again'])).stdout === 'up\n');
    const first = await pidOf('again');
    expect(await d.berth(['restart', '-t', '5', 'again'])).toEqual({ code: 0, stdout: 'again\n', stderr: '' });
    expect((await d.berth(['ps', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('again running\n');
    expect(await pidOf('again')).not.toBe(first);
    await until(async () => (await d.berth(['logs', 'again'])).stdout === 'up\nup\n');
    expect((await d.berth(['container', 'restart', 'again'])).code).toBe(0);
    await until(async () => (await d.berth(['logs', 'again'])).stdout === 'up\nup\nup\n');
    expect((await d.berth(['rm', '-f', 'again'])).code).toBe(0);

    const id = (await d.berth(['create', 'busybox', 'echo', 'from-created'])).stdout.trim();
    expect((await d.berth(['restart', id])).code).toBe(0);
    expect((await d.berth(['wait', id])).stdout).toBe('0\n');
    expect((await d.berth(['logs', id])).stdout).toBe('from-created\n');
    expect((await d.berth(['rm', id])).code).toBe(0);

    const missing = await d.berth(['restart', 'nobody-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such container: nobody-here');
  });

  it('top lists the container\'s processes as ps -ef does', async () => {
    expect((await d.berth(['run', '-d', '--name', 'tops', 'busybox', 'sh', '-c', 'sleep 1000 & wait'])).code).toBe(0);
    const pid = await pidOf('tops');
    let lines: string[] = [];
    await until(async () => {
      lines = (await d.berth(['top', 'tops'])).stdout.trim().split('\n');
      return lines.length === 3;
    });
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    const shell = rows.find((r) => r[1] === String(pid));
    const sleep = rows.find((r) => r[1] !== String(pid));
    expect(shell).toEqual(['root', String(pid), expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/), expect.stringMatching(/^(\d\d:\d\d|\w{3}\d\d|\d{4})$/), '?', expect.stringMatching(/^\d\d:\d\d:\d\d$/), 'sh', '-c', 'sleep', '1000', '&', 'wait']);
    expect(sleep?.[2]).toBe(String(pid));
    expect(sleep?.slice(7)).toEqual(['sleep', '1000']);
    // The rows are the host's view: the same process in /proc.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sh\0-c\0sleep 1000 & wait\0');
    expect((await d.berth(['stop', '-t', '1', 'tops'])).code).toBe(0);
    const stopped = await d.berth(['top', 'tops']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('is not running');
    expect((await d.berth(['rm', 'tops'])).code).toBe(0);
  });

  it('stats --no-stream shows CPU, memory and pids from the cgroup metrics', async () => {
    expect((await d.berth(['run', '-d', '--name', 'busy', 'busybox', 'sh', '-c', 'while :; do :; done'])).code).toBe(0);
    expect((await d.berth(['run', '-d', '--name', 'idle', 'busybox', 'sh', '-c', 'sleep 1000 & sleep 1000 & wait'])).code).toBe(0);
    await until(async () => (await d.berth(['top', 'idle'])).stdout.trim().split('\n').length === 4);

    const table = (await d.berth(['stats', '--no-stream'])).stdout.split('\n');
    expect(table[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS$/);
    expect(table.filter(Boolean)).toHaveLength(3);

    const r = await d.berth(['stats', '--no-stream', '--format', 'json', 'busy', 'idle']);
    expect(r.stderr).toBe('');
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.map((x) => [x.Name, x.PIDs])).toEqual([['busy', '1'], ['idle', '3']]);
    for (const x of rows) {
      expect(x.CPUPerc).toMatch(/^\d+\.\d\d%$/);
      expect(x.MemPerc).toMatch(/^\d+\.\d\d%$/);
      expect(x.MemUsage).toMatch(/^\d+(\.\d+)?(B|KiB|MiB|GiB) \/ \d+(\.\d+)?(B|KiB|MiB|GiB|TiB)$/);
      expect(x.MemUsage.startsWith('0B')).toBe(false);
    }
    // A shell spinning for the whole sample uses CPU; the idle one's sleeps hardly any.
    expect(Number.parseFloat(rows[0]!.CPUPerc)).toBeGreaterThan(0);
    expect(Number.parseFloat(rows[0]!.CPUPerc)).toBeGreaterThan(Number.parseFloat(rows[1]!.CPUPerc));

    expect((await d.berth(['rm', '-f', 'busy', 'idle'])).code).toBe(0);
    expect((await d.berth(['stats', '--no-stream', '-q'])).code).toBe(125);
  });
});

describe.skipIf(!isRoot)('system df and prune', () => {
  it('counts images and containers, and prune removes stopped containers then unused images', async () => {
    const layers = await testImage('layers', 'oci');
    expect((await d.berth(['load', '-i', layers.path])).code).toBe(0);
    const running = (await d.berth(['run', '-d', 'busybox', 'sleep', '1000'])).stdout.trim();
    const exited = (await d.berth(['run', '--name', 'done', 'busybox', 'true'])).code;
    expect(exited).toBe(0);
    const doneId = (await d.berth(['inspect', '--format', '{{.Id}}', 'done'])).stdout.trim();

    const df = async () => Object.fromEntries((await d.berth(['system', 'df', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>).map((r) => [r.Type, r]));
    const before = await df();
    expect(before.Images).toMatchObject({ TotalCount: '2', Active: '1' });
    expect(before.Images!.Size).not.toBe('0B');
    expect(before.Images!.Reclaimable).not.toMatch(/^0B/);
    expect(before.Containers).toMatchObject({ TotalCount: '2', Active: '1' });
    expect((await d.berth(['system', 'df'])).stdout).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+2\s+1\s/);

    // Without -a, tagged images stay.
    const p1 = await d.berth(['system', 'prune', '-f']);
    expect(p1.code).toBe(0);
    expect(p1.stdout).toMatch(new RegExp(`^Deleted Containers:\\n${doneId}\\n\\nTotal reclaimed space: `));
    expect((await d.berth(['ps', '-a', '-q', '--no-trunc'])).stdout).toBe(`${running}\n`);
    expect((await d.berth(['images', '--format', '{{.Repository}}'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['busybox', 'layers']);

    // Without -f, a "no" keeps everything.
    const no = await d.berth(['system', 'prune', '-a'], { input: 'n\n' });
    expect(no.stdout).toContain('Are you sure you want to continue? [y/N]');
    expect((await d.berth(['images', '-q'])).stdout.split('\n').filter(Boolean)).toHaveLength(2);

    // -a: every image no container uses goes, and berthd's GC frees its blobs.
    const p2 = await d.berth(['system', 'prune', '-a'], { input: 'y\n' });
    expect(p2.code).toBe(0);
    expect(p2.stdout).toContain('Deleted Images:\nuntagged: layers:latest\n');
    expect(p2.stdout).not.toContain('busybox');
    expect(p2.stdout).toMatch(/Total reclaimed space: (?!0B)\d/);
    expect((await d.berth(['images', '--format', '{{.Repository}}'])).stdout).toBe('busybox\n');
    expect((await df()).Images).toMatchObject({ TotalCount: '1', Active: '1' });
    expect((await d.berth(['rm', '-f', running])).code).toBe(0);
  });
});

describe('login and logout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-login-'));
  const env = { DOCKER_CONFIG: dir };
  const file = join(dir, 'config.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const berth = async (args: string[], input?: string) => {
    const { berthAt } = await import('./harness');
    return berthAt(undefined, args, { env, ...(input !== undefined ? { input } : {}) });
  };

  it('writes auths[SERVER].auth (mode 0600), keeps other settings, and logout removes it', async () => {
    writeFileSync(file, JSON.stringify({ credHelpers: { 'gcr.io': 'gcloud' }, auths: { 'other.example': { auth: 'eDp5' } } }));
    const r = await berth(['login', '-u', 'alice', '--password-stdin', 'localhost:5000'], 's3cr:et\n');
    expect(r).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }>; credHelpers: unknown };
    expect(Buffer.from(config.auths['localhost:5000']!.auth, 'base64').toString()).toBe('alice:s3cr:et');
    expect(config.auths['other.example']).toEqual({ auth: 'eDp5' });
    expect(config.credHelpers).toEqual({ 'gcr.io': 'gcloud' });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Docker Hub's key, by default.
    expect((await berth(['login', '-u', 'bob', '--password-stdin'], 'pw')).code).toBe(0);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { auths: object }).auths).sort()).toEqual(['https://index.docker.io/v1/', 'localhost:5000', 'other.example']);

    expect(await berth(['logout', 'localhost:5000'])).toEqual({ code: 0, stdout: 'Removing login credentials for localhost:5000\n', stderr: '' });
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { auths: object }).auths).sort()).toEqual(['https://index.docker.io/v1/', 'other.example']);
    expect((await berth(['logout', 'localhost:5000'])).stdout).toBe('Not logged in to localhost:5000\n');
  });

  it('refuses --password-stdin without a user, and an interactive login without a terminal', async () => {
    expect((await berth(['login', '--password-stdin', 'localhost:5000'], 'pw')).code).toBe(125);
    const r = await berth(['login', 'localhost:5000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('non TTY');
  });
});
