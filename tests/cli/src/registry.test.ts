import { startRegistry, type TestRegistry } from '@berth/registry/testing';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type TestDaemon } from './harness';

// berth push / pull through berthd's Transfer service, with Debian's docker-registry on 127.0.0.1.
const isRoot = process.getuid?.() === 0;
let d: TestDaemon;
let registry: TestRegistry;

beforeAll(async () => {
  if (!isRoot) return;
  registry = await startRegistry();
  d = await startDaemon('berth-cli-reg-');
}, 60_000);

afterAll(async () => {
  await d?.stop();
  await registry?.stop();
}, 60_000);

describe.skipIf(!isRoot)('berth push and pull', () => {
  it('pushes a loaded image, pulls it back after rmi, and runs it', async () => {
    const oci = await testImage('busybox', 'oci');
    const remote = `${registry.host}/tools/busybox:1`;
    expect((await d.berth(['load', '-i', oci.path])).code).toBe(0);
    expect((await d.berth(['tag', 'busybox', remote])).code).toBe(0);
    const pushed = await d.berth(['push', '--plain-http', remote]);
    expect(pushed).toMatchObject({ code: 0, stderr: '' });
    expect(pushed.stdout.split('\n').filter(Boolean).at(-1)).toBe(`pushed ${remote}`);

    expect((await d.berth(['rmi', remote, 'busybox'])).code).toBe(0);
    const pulled = await d.berth(['pull', '--plain-http', remote]);
    expect(pulled).toMatchObject({ code: 0, stderr: '' });
    // Not a terminal: plain progress lines, then Docker's status line.
    expect(pulled.stdout.split('\n').filter(Boolean).at(-1)).toBe(`Status: Downloaded newer image for ${remote}`);
    expect(pulled.stdout).toMatch(/^[0-9a-f]{12}: /m);
    const ids = (await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout.trim();
    expect(ids).toBe(`${registry.host}/tools/busybox:1 ${oci.config.digest.slice(7, 19)}`);
    expect(await d.berth(['run', '--rm', remote, 'echo', 'pulled'])).toEqual({ code: 0, stdout: 'pulled\n', stderr: '' });
  });

  it('run pulls an image it does not have, as docker run does, with the progress on stderr', async () => {
    const oci = await testImage('busybox', 'oci');
    const remote = `${registry.host}/tools/auto:1`;
    expect((await d.berth(['load', '-i', oci.path])).code).toBe(0);
    expect((await d.berth(['tag', 'busybox', remote])).code).toBe(0);
    expect((await d.berth(['push', '-q', remote])).code).toBe(0);
    expect((await d.berth(['rmi', remote])).code).toBe(0);
    const r = await d.berth(['run', '--rm', remote, 'echo', 'auto']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('auto\n');
    expect(r.stderr).toContain(`Unable to find image '${remote}' locally`);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`Status: Downloaded newer image for ${remote}`);
    expect((await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toContain(remote);
  });

  it('a missing tag is an error that names it, and leaves no image', async () => {
    const r = await d.berth(['pull', '--plain-http', '-q', `${registry.host}/tools/nope:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not found/);
    expect((await d.berth(['images', '-q'])).stdout).not.toContain('nope');
  });
});
