import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '@berth/registry/testing';
import { testImage } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from './engine';
import { ctr, ctrTable, hasCtr } from './testing';
import type { Berthd } from './daemon/daemon';

/**
 * containerd 1.6 pulls and pushes in the client: `ctr images push/pull --plain-http` against
 * berthd, with Debian's reference registry (`docker-registry`) on 127.0.0.1 in between. The pull
 * goes to a second berthd on its own root, so every byte crosses the registry.
 */

const REGISTRY = '/usr/bin/docker-registry';
const canRun = process.getuid?.() === 0 && hasCtr && existsSync(REGISTRY);
const LS = ['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS', 'LABELS'] as const;

let base: string;
let registry: TestRegistry | undefined;
let host: string;
let pusher: Berthd;
let puller: Berthd;

beforeAll(async () => {
  if (!canRun) return;
  base = await mkdtemp(join(tmpdir(), 'berth-registry-ctr-'));
  registry = await startRegistry();
  host = registry.host;
  pusher = await startEngine({ root: join(base, 'a', 'root'), state: join(base, 'a', 'state') });
  puller = await startEngine({ root: join(base, 'b', 'root'), state: join(base, 'b', 'state') });
});

afterAll(async () => {
  await pusher?.stop();
  await puller?.stop();
  await registry?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

describe.skipIf(!canRun)('ctr images push/pull --plain-http through a registry', () => {
  it('pushes from one berthd, pulls into another, and runs the pulled image', async () => {
    for (const name of ['busybox', 'layers'] as const) {
      const img = await testImage(name, 'oci');
      const local = `docker.io/library/${name}:latest`;
      const remote = `${host}/${name}:latest`;
      await ctr(pusher.address, '-n', 'push', 'images', 'import', img.path);
      await ctr(pusher.address, '-n', 'push', 'images', 'tag', local, remote);
      await ctr(pusher.address, '-n', 'push', 'images', 'push', '--plain-http', remote);

      await ctr(puller.address, '-n', 'pull', 'images', 'pull', '--plain-http', remote);
      const [pushed] = ctrTable(await ctr(pusher.address, '-n', 'push', 'images', 'ls'), LS).filter((r) => r.REF === remote);
      const [pulled] = ctrTable(await ctr(puller.address, '-n', 'pull', 'images', 'ls'), LS).filter((r) => r.REF === remote);
      expect(pulled?.DIGEST).toBe(img.manifest.digest);
      expect(pulled?.DIGEST).toBe(pushed?.DIGEST);
    }
    const out = await ctr(puller.address, '-n', 'pull', 'run', '--rm', `${host}/busybox:latest`, 'pulled', 'echo', 'hello from the registry');
    expect(out).toBe('hello from the registry\n');
  });

  it('a missing tag is an error and leaves no image', async () => {
    await expect(ctr(puller.address, '-n', 'pull', 'images', 'pull', '--plain-http', `${host}/nope:latest`)).rejects.toThrow(/not found/);
    const refs = ctrTable(await ctr(puller.address, '-n', 'pull', 'images', 'ls'), LS).map((r) => r.REF);
    expect(refs).not.toContain(`${host}/nope:latest`);
  });
});
