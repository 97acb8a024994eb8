import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram, startDaemon, BERTH, type TestDaemon } from './harness';

// `berth run` end to end against a live berthd with real containers (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;
const scratch = mkdtempSync(join(tmpdir(), 'berth-cli-run-scratch-'));

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemon('berth-cli-run-');
  const image = await testImage('busybox', 'oci');
  const load = await d.berth(['load', '-i', image.path]);
  expect(load).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
}, 120_000);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await d?.stop();
}, 60_000);

describe.skipIf(!isRoot)('berth run', () => {
  it('prints exactly the output and exits 0, leaving nothing behind with --rm', async () => {
    expect(await d.berth(['run', '--rm', 'busybox', 'echo', 'hi'])).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    expect((await d.berth(['ps', '-a', '-q'])).stdout).toBe('');
  });

  it('makes the FIFOs of a foreground run in-process (no mkfifo child) when @berth/sys is built', async () => {
    const preload = join(scratch, 'record-spawns.cjs');
    writeFileSync(
      preload,
      `const cp = require('node:child_process'); const spawn = cp.ChildProcess.prototype.spawn; const seen = [];
       cp.ChildProcess.prototype.spawn = function (o) { seen.push(o.file); return spawn.call(this, o); };
       process.on('exit', () => require('node:fs').writeSync(2, 'spawned: ' + seen.join(',') + '\\n'));`,
    );
    const r = await runProgram(process.execPath, ['--require', preload, BERTH, '--address', d.address, 'run', '--rm', 'busybox', 'echo', 'hi']);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('spawned: \n');
    // The check can fail: `run -d --rm` does start a child (its __monitor helper).
    const detached = await runProgram(process.execPath, ['--require', preload, BERTH, '--address', d.address, 'run', '-d', '--rm', 'busybox', 'true']);
    expect(detached.stderr).toBe(`spawned: ${process.execPath}\n`);
  });

  it("keeps the image's manifest and config in the user's cache, and survives a damaged entry", async () => {
    const cache = join(scratch, 'xdg-cache');
    const image = await testImage('busybox', 'oci');
    const env = { XDG_CACHE_HOME: cache };
    expect(await d.berth(['run', '--rm', 'busybox', 'echo', 'one'], { env })).toEqual({ code: 0, stdout: 'one\n', stderr: '' });
    const blobs = join(cache, 'berth', 'blobs', 'sha256');
    const manifest = join(blobs, image.manifest.digest.slice('sha256:'.length));
    expect(JSON.parse(readFileSync(manifest, 'utf8')).layers).toHaveLength(1);
    // An entry of the wrong size is not used: the blob is read from berthd again.
    writeFileSync(manifest, '{}');
    expect(await d.berth(['run', '--rm', 'busybox', 'echo', 'two'], { env })).toEqual({ code: 0, stdout: 'two\n', stderr: '' });
    expect(JSON.parse(readFileSync(manifest, 'utf8')).layers).toHaveLength(1);
  });

  it('keeps a compile cache per command, and drops the caches of earlier builds of itself and stale ones', async () => {
    const cacheHome = join(scratch, 'xdg-compile');
    const env = { XDG_CACHE_HOME: cacheHome };
    const dir = join(cacheHome, 'berth', `v8-${process.version}`);
    expect((await d.berth(['version'], { env })).code).toBe(0);
    const [version] = readdirSync(dir);
    const install = /^version(-[^-]+-)\d+-\d+\.cache$/.exec(version!)![1]!;
    const earlierBuild = join(dir, `run${install}1-2.cache`);
    const otherInstall = join(dir, 'run-elsewhere-1-2.cache');
    const oldNode = join(cacheHome, 'berth', 'v8-v0.0.0', `run${install}1-2.cache`);
    for (const f of [earlierBuild, otherInstall, oldNode]) {
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, 'x');
    }
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    utimesSync(oldNode, longAgo, longAgo);
    expect(await d.berth(['run', '--rm', 'busybox', 'true'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readdirSync(dir).sort()).toEqual([otherInstall.slice(dir.length + 1), version!.replace(/^version/, 'run'), version!].sort());
    expect(existsSync(oldNode)).toBe(false);
  });

  it("exits with the container's exit code", async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']);
    expect(r.code).toBe(7);
    expect(r.stderr).toBe('');
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('exits 127 for a command that does not exist and 126 for one that cannot be run', async () => {
    const missing = await d.berth(['run', '--rm', 'busybox', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-command');
    const notExecutable = await d.berth(['run', '--rm', 'busybox', '/etc/passwd']);
    expect(notExecutable.code).toBe(126);
  });

  it('exits 125 for an image it does not have and cannot pull, and says so', async () => {
    // Nothing listens on port 1: the pull Docker's run makes fails at once.
    const r = await d.berth(['run', '--rm', '127.0.0.1:1/no-such-image', 'true']);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("Unable to find image '127.0.0.1:1/no-such-image:latest' locally");
    expect(r.stderr).toContain('pull 127.0.0.1:1/no-such-image:latest: ');
    expect((await d.berth(['ps', '-aq'])).stdout).toBe('');
  });

  it('exits 125 for an unknown flag', async () => {
    const r = await d.berth(['run', '--no-such-flag', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('unknown flag: --no-such-flag');
  });

  it('passes stdin with -i and closes it at EOF', async () => {
    expect(await d.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'hello\n' })).toEqual({ code: 0, stdout: 'hello\ndone\n', stderr: '' });
  });

  it('applies -e, --env-file, -w, -u, --hostname, --entrypoint', async () => {
    const dir = mkdtempSync(join(scratch, 'env-'));
    const envFile = join(dir, 'env');
    writeFileSync(envFile, '# comment\nFROM_FILE=yes\n');
    const r = await d.berth([
      'run', '--rm', '-e', 'A=1', '--env-file', envFile, '-w', '/tmp', '-u', 'nobody', '--hostname', 'box',
      'busybox', 'sh', '-c', 'echo $A $FROM_FILE; pwd; id -un; hostname',
    ]);
    expect(r).toEqual({ code: 0, stdout: '1 yes\n/tmp\nnobody\nbox\n', stderr: '' });
    const ep = await d.berth(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
    expect(ep).toEqual({ code: 0, stdout: 'from entrypoint\n', stderr: '' });
    const numeric = await d.berth(['run', '--rm', '-u', '1234:5678', 'busybox', 'id']);
    expect(numeric.stdout).toBe('uid=1234 gid=5678\n');
  });

  it('bind-mounts a host directory with -v, read-only with :ro', async () => {
    const dir = mkdtempSync(join(scratch, 'vol-'));
    writeFileSync(join(dir, 'f'), 'from host\n');
    expect(await d.berth(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /data/f; echo x > /data/g'])).toEqual({ code: 0, stdout: 'from host\n', stderr: '' });
    const ro = await d.berth(['run', '--rm', '-v', `${dir}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/h']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/Read-only file system/);
  });

  it('refuses -it when stdin is not a terminal, and says what to do', async () => {
    const r = await d.berth(['run', '--rm', '-it', 'busybox', 'sh']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('berth: the input device is not a TTY: drop -t, or run berth from a terminal\n');
  });

  it('gives a pseudo-terminal with -it', async () => {
    // script(1) runs berth on a pty, as a person at a terminal would.
    const cmd = `${process.execPath} ${BERTH} --address ${d.address} run --rm -it busybox sh -c 'tty; test -t 0 && echo stdin-is-tty; exit 4'`;
    const r = await runProgram('script', ['-qec', cmd, '/dev/null']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r?\r?\n/);
    expect(r.stdout).toContain('stdin-is-tty');
  });
});
