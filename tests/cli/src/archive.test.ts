import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH, runProgram, type TestDaemon, until, startDaemonWithBusybox } from './harness';

// Image and filesystem archives: `berth save` (and `ctr images import` of what it writes),
// `berth export` and `berth import`, against a live berthd with real containers (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;
const scratch = mkdtempSync(join(tmpdir(), 'berth-cli-archive-scratch-'));

beforeAll(async () => {
  if (!isRoot) return;
  d = await startDaemonWithBusybox('berth-cli-archive-');
}, 120_000);

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await d?.stop();
}, 60_000);

/** Runs `berth ARGS > out` through a shell, so stdout is a file (binary-safe), and returns the exit code and stderr. */
async function berthTo(out: string, args: string[], input?: string): Promise<{ code: number | null; stderr: string }> {
  const quoted = [BERTH, '--address', d.address, ...args].map((a) => `'${a}'`).join(' ');
  const r = await runProgram('sh', ['-c', `${input ? `< '${input}' ` : ''}'${process.execPath}' ${quoted} > '${out}'`]);
  return { code: r.code, stderr: r.stderr };
}

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function tarRead(file: string, member: string): string {
  return execFileSync('tar', ['-xOf', file, member], { encoding: 'utf8' });
}

describe.skipIf(!isRoot)('berth save', () => {
  it('writes an OCI layout with Docker manifest.json that berth load reads back after rmi', async () => {
    const file = join(scratch, 'busybox.tar');
    expect(await d.berth(['save', '-o', file, 'busybox'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const names = tarList(file);
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json']));
    const index = JSON.parse(tarRead(file, 'index.json')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]!.annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' });
    const manifest = JSON.parse(tarRead(file, 'manifest.json')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest).toHaveLength(1);
    expect(manifest[0]!.RepoTags).toEqual(['busybox:latest']);
    for (const path of [manifest[0]!.Config, ...manifest[0]!.Layers, `blobs/${index.manifests[0]!.digest.replace(':', '/')}`]) expect(names).toContain(path);
    const id = (await d.berth(['images', '-q'])).stdout;
    expect((await d.berth(['rmi', 'busybox'])).code).toBe(0);
    expect((await d.berth(['run', '--rm', 'busybox', 'true'])).code).toBe(125);
    expect(await d.berth(['load', '-i', file])).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
    expect((await d.berth(['images', '-q'])).stdout).toBe(id);
    expect(await d.berth(['run', '--rm', 'busybox', 'echo', 'reloaded'])).toEqual({ code: 0, stdout: 'reloaded\n', stderr: '' });
  });

  it("writes what ctr images import accepts, with the image's name", async () => {
    const file = join(scratch, 'for-ctr.tar');
    expect((await d.berth(['tag', 'busybox', 'example.com/saved/box:v1'])).code).toBe(0);
    expect((await d.berth(['image', 'save', '-o', file, 'example.com/saved/box:v1'])).code).toBe(0);
    expect((await d.berth(['rmi', 'example.com/saved/box:v1'])).code).toBe(0);
    const ctr = await runProgram('/usr/bin/ctr', ['-a', d.address, '-n', 'default', 'images', 'import', file]);
    expect(ctr.code, ctr.stderr).toBe(0);
    expect((await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toContain('example.com/saved/box:v1\n');
    expect(await d.berth(['run', '--rm', 'example.com/saved/box:v1', 'echo', 'via-ctr'])).toEqual({ code: 0, stdout: 'via-ctr\n', stderr: '' });
    expect((await d.berth(['rmi', 'example.com/saved/box:v1'])).code).toBe(0);
  });

  it('writes to stdout when redirected, the same bytes as -o, and saves several images in one archive', async () => {
    const viaFlag = join(scratch, 'flag.tar');
    const viaStdout = join(scratch, 'stdout.tar');
    expect((await d.berth(['tag', 'busybox', 'second:tag'])).code).toBe(0);
    expect((await d.berth(['save', '-o', viaFlag, 'busybox', 'second:tag'])).code).toBe(0);
    expect(await berthTo(viaStdout, ['save', 'busybox', 'second:tag'])).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(viaStdout).equals(readFileSync(viaFlag))).toBe(true);
    const manifest = JSON.parse(tarRead(viaFlag, 'manifest.json')) as { RepoTags: string[] }[];
    expect(manifest).toHaveLength(1); // one image, two names
    expect(manifest[0]!.RepoTags).toEqual(['busybox:latest', 'second:tag']);
    expect((JSON.parse(tarRead(viaFlag, 'index.json')) as { manifests: unknown[] }).manifests).toHaveLength(2);
    expect((await d.berth(['rmi', 'second:tag'])).code).toBe(0);
    expect((await d.berth(['load', '-i', viaStdout])).stdout).toBe('Loaded image: busybox:latest\nLoaded image: second:tag\n');
    expect((await d.berth(['rmi', 'second:tag'])).code).toBe(0);
  });

  it('refuses a terminal, and an unknown image without leaving a file', async () => {
    const tty = await runProgram('script', ['-qec', `'${process.execPath}' '${BERTH}' --address '${d.address}' save busybox`, '/dev/null']);
    expect(tty.code).toBe(1);
    expect(tty.stdout).toContain('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const file = join(scratch, 'missing.tar');
    const r = await d.berth(['save', '-o', file, 'busybox', 'no-such-image']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('berth: Error response from daemon: No such image: no-such-image\n');
    expect(readdirSync(scratch).filter((f) => f.includes('missing'))).toEqual([]);
    expect((await d.berth(['save'])).code).toBe(125);
  });
});

describe.skipIf(!isRoot)('berth export and import', () => {
  it("round-trips a container's files into a new image that runs", async () => {
    expect((await d.berth(['run', '--name', 'writer', 'busybox', 'sh', '-c', 'echo made-in-container > /made.txt; rm /bin/ls'])).code).toBe(0);
    const file = join(scratch, 'rootfs.tar');
    expect(await d.berth(['export', '-o', file, 'writer'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const names = tarList(file).map((n) => n.replace(/^\.\//, ''));
    expect(names).toContain('made.txt');
    expect(names).toContain('bin/busybox');
    expect(names).not.toContain('bin/ls');
    expect(names).not.toContain('index.json'); // a filesystem, not an image archive
    const imported = await d.berth(['import', file, 'exported:v1']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await d.berth(['images', '--no-trunc', '--format', '{{.ID}}', 'exported'])).stdout).toBe(imported.stdout);
    expect(await d.berth(['run', '--rm', 'exported:v1', 'cat', '/made.txt'])).toEqual({ code: 0, stdout: 'made-in-container\n', stderr: '' });
    expect((await d.berth(['run', '--rm', 'exported:v1', 'ls'])).code).toBe(127);
    const inspect = JSON.parse((await d.berth(['inspect', '--type', 'image', 'exported:v1'])).stdout) as { Os: string; Architecture: string; RootFS: { Layers: string[] } }[];
    expect(inspect[0]!.Os).toBe('linux');
    expect(inspect[0]!.RootFS.Layers).toHaveLength(1);
    expect((await d.berth(['rm', 'writer'])).code).toBe(0);
  });

  it('exports a running container to stdout, and imports gzip from stdin with --change, untagged', async () => {
    const id = (await d.berth(['run', '-d', 'busybox', 'sh', '-c', 'echo live > /live.txt; trap "exit 0" TERM; while true; do sleep 0.1; done'])).stdout.trim();
    await until(async () => (await d.berth(['exec', id, 'cat', '/live.txt'])).stdout === 'live\n');
    const file = join(scratch, 'live.tar');
    expect(await berthTo(file, ['container', 'export', id])).toEqual({ code: 0, stderr: '' });
    expect(tarList(file).map((n) => n.replace(/^\.\//, ''))).toContain('live.txt');
    const gz = join(scratch, 'live.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    const r = await d.berth(['image', 'import', '-c', 'CMD ["cat", "/live.txt"]', '-c', 'ENV A=1', '-', ], { input: readFileSync(gz) });
    expect(r.code, r.stderr).toBe(0);
    const row = (await d.berth(['images', '--no-trunc', '--format', '{{.Repository}} {{.Tag}} {{.ID}}'])).stdout.split('\n').find((l) => l.endsWith(r.stdout.trim()));
    expect(row).toMatch(/^import-\d{4}-\d{2}-\d{2} <none> sha256:/);
    const name = (await d.berth(['images', '--format', '{{.Name}}'])).stdout.split('\n').find((n) => n.includes('import-'))!;
    expect(await d.berth(['run', '--rm', name])).toEqual({ code: 0, stdout: 'live\n', stderr: '' });
    // As Docker, an untagged image runs by its id (or a prefix of it).
    const shortId = r.stdout.trim().slice('sha256:'.length, 'sha256:'.length + 12);
    expect((await d.berth(['run', '--rm', shortId, 'sh', '-c', 'echo $A'])).stdout).toBe('1\n');
    expect((await d.berth(['rm', '-f', id])).code).toBe(0);
    expect((await d.berth(['rmi', r.stdout.trim()])).code).toBe(0);
  });

  it('leaves no lease and no mount behind from exporting', async () => {
    expect((await d.berth(['create', '--name', 'quiet', 'busybox', 'true'])).code).toBe(0);
    const before = await runProgram('/usr/bin/ctr', ['-a', d.address, '-n', 'default', 'leases', 'ls', '-q']);
    expect(await berthTo(join(scratch, 'quiet.tar'), ['export', 'quiet'])).toEqual({ code: 0, stderr: '' });
    expect((await runProgram('/usr/bin/ctr', ['-a', d.address, '-n', 'default', 'leases', 'ls', '-q'])).stdout).toBe(before.stdout);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(d.dir) && !l.includes('/shims/'))).toEqual([]);
    expect((await d.berth(['rm', 'quiet'])).code).toBe(0);
  });

  it('refuses what is not a tar, an unknown container, and a missing file, creating nothing', async () => {
    const images = (await d.berth(['images', '-q'])).stdout;
    const junk = join(scratch, 'junk.txt');
    writeFileSync(junk, 'not a tar archive\n'.repeat(100));
    const notTar = await d.berth(['import', junk, 'junk:1']);
    expect(notTar.code).toBe(1);
    expect(notTar.stderr).toContain('not a tar archive');
    const missing = await d.berth(['import', join(scratch, 'nope.tar')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file or directory');
    expect((await d.berth(['images', '-q'])).stdout).toBe(images);
    const out = join(scratch, 'never.tar');
    const r = await d.berth(['export', '-o', out, 'no-such-container']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'berth: Error response from daemon: No such container: no-such-container\n' });
    expect(existsSync(out)).toBe(false);
  });
});

