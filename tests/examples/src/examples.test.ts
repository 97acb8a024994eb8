import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEngine, type Berthd } from '@berth/engine';
import { ctr, hasCtr } from '@berth/engine/testing';
import { createRegistryClient } from '@berth/registry';
import { startRegistry, type TestRegistry } from '@berth/registry/testing';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}/dist/main.js`, import.meta.url));
const isRoot = process.getuid?.() === 0;

/** Runs an example program; resolves with its exit code and output whatever the code. */
function run(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [example(name), ...args], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let base: string;
let berthd: Berthd;
const registries: TestRegistry[] = [];

beforeAll(async () => {
  if (!isRoot) return;
  base = await mkdtemp(join(tmpdir(), 'berth-examples-'));
  berthd = await startEngine({ root: join(base, 'root'), state: join(base, 'state') });
  registries.push(await startRegistry(), await startRegistry());
}, 60_000);

afterAll(async () => {
  await berthd?.stop();
  for (const r of registries) await r.stop();
  if (base) await rm(base, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!isRoot)('examples/client-run (@berth/client against berthd)', () => {
  it('loads busybox when missing, runs the command, prints its output, exits with its code', async () => {
    const first = await run('client-run', ['--address', berthd.address, '--namespace', 'ex']);
    expect(first).toMatchObject({ code: 0, stdout: 'hello from berth\n' });
    expect(first.stderr).toBe('loaded docker.io/library/busybox:latest\nexit code 0\n');
    const second = await run('client-run', ['--address', berthd.address, '--namespace', 'ex', '--', 'sh', '-c', 'echo out; exit 3']);
    expect(second).toEqual({ code: 3, stdout: 'out\n', stderr: 'exit code 3\n' });
  });
});

describe.skipIf(!isRoot || !hasCtr)('examples/registry-copy (@berth/registry and @berth/content, no daemon)', () => {
  it('copies an image between two registries with the same digests, and a second copy uploads nothing', async () => {
    const [a, b] = registries as [TestRegistry, TestRegistry];
    const img = await testImage('layers', 'oci');
    const src = `${a.host}/src/layers:1`;
    const dst = `${b.host}/dst/layers:2`;
    await ctr(berthd.address, '-n', 'seed', 'images', 'import', img.path);
    await ctr(berthd.address, '-n', 'seed', 'images', 'tag', 'docker.io/library/layers:latest', src);
    await ctr(berthd.address, '-n', 'seed', 'images', 'push', '--plain-http', src);

    const copied = await run('registry-copy', [src, dst]);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    const blobs = img.diffIds.length + 2; // layers, config, manifest
    expect(copied.stdout).toBe(`copied ${src} → ${dst} (${img.manifest.digest})\nfetched ${blobs} blob(s); pushed ${blobs}, mounted 0, already there 0\n`);
    const client = createRegistryClient();
    try {
      expect((await client.resolve(dst)).descriptor.digest).toBe(img.manifest.digest);
    } finally {
      client.close();
    }
    const again = await run('registry-copy', [src, dst]);
    expect(again.stdout.split('\n')[1]).toBe(`fetched ${blobs} blob(s); pushed 0, mounted 0, already there ${blobs}`);
  });

  it('a missing source is an error that names it', async () => {
    const r = await run('registry-copy', [`${registries[0]!.host}/nope:1`, `${registries[1]!.host}/nope:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^registry-copy: .*not found/);
  });
});
