import { mkdtemp, readFile, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { digestOf } from '@berth/spec';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildImage } from './build';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-testimages-cache-'));
  vi.stubEnv('BERTH_TESTIMAGES_CACHE', root);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

// A fresh copy of the module has its own in-process memo, standing in for another process.
async function freshCache(): Promise<typeof import('./cache')> {
  vi.resetModules();
  return import('./cache');
}

describe('testImage', () => {
  it('builds once into $BERTH_TESTIMAGES_CACHE/<key> and shares concurrent calls', async () => {
    const { testImage, cacheRoot } = await freshCache();
    expect(cacheRoot()).toBe(root);
    const [a, b] = await Promise.all([testImage('busybox', 'oci'), testImage('busybox', 'oci')]);
    expect(b).toBe(a);
    expect(dirname(dirname(a.path))).toBe(root);
    const direct = await buildImage('busybox', 'oci', join(root, 'direct.tar'));
    expect({ ...a, path: '' }).toEqual({ ...direct, path: '' });
    expect(digestOf(await readFile(a.path))).toBe(digestOf(await readFile(direct.path)));
  });

  it('reuses a complete cache entry without rebuilding it', async () => {
    const first = await (await freshCache()).testImage('busybox', 'docker');
    const before = await stat(first.path);
    const again = await (await freshCache()).testImage('busybox', 'docker');
    expect(again).toEqual(first);
    expect((await stat(again.path)).ino).toBe(before.ino);
  });

  it('rebuilds an entry whose archive does not match its metadata', async () => {
    const first = await (await freshCache()).testImage('busybox', 'oci');
    const size = (await stat(first.path)).size;
    await truncate(first.path, 100);
    const again = await (await freshCache()).testImage('busybox', 'oci');
    expect((await stat(again.path)).size).toBe(size);
  });

  it('two independent builders racing on one key leave one valid entry and no partial files', async () => {
    const key = dirname((await (await freshCache()).testImage('busybox', 'oci')).path);
    await rm(key, { recursive: true });
    const [a, b] = await Promise.all([(await freshCache()).testImage('busybox', 'oci'), (await freshCache()).testImage('busybox', 'oci')]);
    expect(a.path).toBe(b.path);
    expect(a.manifest).toEqual(b.manifest);
    expect((await readdir(key)).sort()).toEqual(['busybox-oci.tar', 'busybox-oci.tar.json']);
  });
});
