import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH, runProgram, startDaemon, type TestDaemon } from './harness';

// Images: load (OCI and docker archives), images, tag, rmi, inspect; and namespaces (root only).
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;

beforeAll(async () => {
  if (isRoot) d = await startDaemon('berth-cli-img-');
}, 60_000);

afterAll(async () => {
  await d?.stop();
}, 60_000);

describe.skipIf(!isRoot)('berth images', () => {
  it('loads a docker archive and an OCI archive of the same image', async () => {
    const docker = await testImage('busybox', 'docker');
    expect(await d.berth(['load', '-i', docker.path])).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
    const oci = await testImage('busybox', 'oci');
    expect(await d.berth(['load', '-i', oci.path])).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
    // Both give the same config, so the same IMAGE ID.
    const config = oci.config.digest.replace('sha256:', '');
    expect((await d.berth(['images', '-q'])).stdout).toBe(`${config.slice(0, 12)}\n`);
    const table = (await d.berth(['images'])).stdout.split('\n');
    expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table[1]).toMatch(new RegExp(`^busybox\\s+latest\\s+${config.slice(0, 12)}\\s`));
  });

  it('prints JSON with --format json', async () => {
    const lines = (await d.berth(['images', '--format', 'json'])).stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ Repository: 'busybox', Tag: 'latest', Name: 'docker.io/library/busybox:latest' })]);
  });

  it('loads from stdin', async () => {
    const oci = await testImage('busybox', 'oci');
    const { readFileSync } = await import('node:fs');
    const r = await d.berth(['load'], { input: readFileSync(oci.path) });
    expect(r).toEqual({ code: 0, stdout: 'Loaded image: busybox:latest\n', stderr: '' });
  });

  it('shows each blob and the unpack on a terminal', async () => {
    const oci = await testImage('busybox', 'oci');
    // script(1) runs berth on a pty, as a person at a terminal would.
    const cmd = `${process.execPath} ${BERTH} --address ${d.address} load -i ${oci.path}`;
    const r = await runProgram('script', ['-qec', cmd, '/dev/null']);
    expect(r.code).toBe(0);
    const shown = r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    // Loaded now, or already in berthd's content store from an earlier test.
    expect(shown).toMatch(new RegExp(`${oci.config.digest.slice(7, 19)}: (loaded|exists) `));
    expect(shown).toContain('docker.io/library/busybox:latest: unpacked');
    expect(shown).toContain('Loaded image: busybox:latest');
  });

  it('refuses a file that is not an image archive', async () => {
    const r = await d.berth(['load', '-i', '/etc/hostname']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toBe('');
  });

  it('tags, runs by the new name, and removes names with rmi', async () => {
    expect(await d.berth(['tag', 'busybox', 'example.com/tools/box:v1'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['busybox:latest', 'example.com/tools/box:v1']);
    expect(await d.berth(['run', '--rm', 'example.com/tools/box:v1', 'echo', 'tagged'])).toEqual({ code: 0, stdout: 'tagged\n', stderr: '' });
    const inspected = JSON.parse((await d.berth(['inspect', '--type', 'image', 'example.com/tools/box:v1'])).stdout) as { RepoTags: string[]; Os: string }[];
    expect(inspected).toEqual([expect.objectContaining({ RepoTags: ['example.com/tools/box:v1'], Os: 'linux' })]);
    expect(await d.berth(['rmi', 'example.com/tools/box:v1'])).toEqual({ code: 0, stdout: 'Untagged: example.com/tools/box:v1\n', stderr: '' });
    const missing = await d.berth(['rmi', 'example.com/tools/box:v1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such image: example.com/tools/box:v1');
  });

  it('rmi refuses an image a container uses, unless -f', async () => {
    const id = (await d.berth(['create', 'busybox', 'true'])).stdout.trim();
    const r = await d.berth(['rmi', 'busybox']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`container ${id.slice(0, 12)} is using its referenced image`);
    expect((await d.berth(['images', '-q'])).stdout).not.toBe('');
    expect((await d.berth(['rm', id])).code).toBe(0);
  });

  it('keeps namespaces apart (--namespace and BERTH_NAMESPACE)', async () => {
    expect((await d.berth(['--namespace', 'other', 'images', '-q'])).stdout).toBe('');
    const oci = await testImage('busybox', 'oci');
    expect((await d.berth(['load', '-i', oci.path], { env: { BERTH_NAMESPACE: 'other' } })).code).toBe(0);
    expect(await d.berth(['run', '--rm', 'busybox', 'echo', 'in-other'], { env: { BERTH_NAMESPACE: 'other' } })).toEqual({ code: 0, stdout: 'in-other\n', stderr: '' });
    expect((await d.berth(['-n', 'other', 'rmi', 'busybox'])).code).toBe(0);
    expect((await d.berth(['-n', 'other', 'images', '-q'])).stdout).toBe('');
    expect((await d.berth(['images', '-q'])).stdout).not.toBe('');
  });
});
