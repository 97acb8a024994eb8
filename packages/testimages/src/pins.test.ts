import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '@berth/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from './build';
import { BUSYBOX_PATH } from './busybox';
import type { ArchiveFormat, ImageName } from './types';

// The busybox pins hold only for this binary: Debian busybox-static 1:1.35.0-4+deb12u1+b1, amd64.
const BUSYBOX_SHA256 = 'sha256:3d9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6';

// The `large` image is for benchmarks; its bytes are pinned by the same builder but not built here (too slow for a unit test).
const PINS: Record<`${Exclude<ImageName, 'large'>}-${ArchiveFormat}`, { manifest: string; config: string }> = {
  'busybox-oci': {
    manifest: 'sha256:bc651551ecccb2bc25f91bf27453baed2d3fe3295630bc1450011966cdbf8933',
    config: 'sha256:4480078cb304f535ebba9ef56d66aeb6db9c28b03902d04af03f574e4eef357d',
  },
  'busybox-docker': {
    manifest: 'sha256:b61798ba6509d120f7e6c46649fb83e9f421788bd63b6f3b00d8d5f9d705ab51',
    config: 'sha256:4480078cb304f535ebba9ef56d66aeb6db9c28b03902d04af03f574e4eef357d',
  },
  'layers-oci': {
    manifest: 'sha256:5fabf49d0d7b80d2a2397a26b8580b1d94ecfaef28d048f088c519d2d694ce85',
    config: 'sha256:ee5a961ba886a9505ab26e09b64a3dc493d3573228a9913b54735cd61ec0fdd6',
  },
  'layers-docker': {
    manifest: 'sha256:f713a4b7649525ed5a034cf2aff7293de5dce0de27cabf15b087ba6b2f6f2eca',
    config: 'sha256:ee5a961ba886a9505ab26e09b64a3dc493d3573228a9913b54735cd61ec0fdd6',
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-testimages-pins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function assertKnownBusybox(): Promise<void> {
  const actual = digestOf(await readFile(BUSYBOX_PATH));
  if (actual !== BUSYBOX_SHA256) {
    throw new Error(
      `busybox-static changed: ${BUSYBOX_PATH} is ${actual}, the busybox pins are for ${BUSYBOX_SHA256} ` +
        '(Debian 1:1.35.0-4+deb12u1+b1, amd64); check the new images and update the pins',
    );
  }
}

describe.each(['oci', 'docker'] as const)('pinned digests, %s archive', (format) => {
  it('busybox matches its pins when built from the known busybox-static', async () => {
    await assertKnownBusybox();
    const built = await buildImage('busybox', format, join(dir, `busybox-${format}.tar`));
    expect({ manifest: built.manifest.digest, config: built.config.digest }).toEqual(PINS[`busybox-${format}`]);
  });

  // The layers image holds no busybox; only the architecture in its config follows the host.
  it.runIf(process.arch === 'x64')('layers matches its pins (amd64 hosts)', async () => {
    const built = await buildImage('layers', format, join(dir, `layers-${format}.tar`));
    expect({ manifest: built.manifest.digest, config: built.config.digest }).toEqual(PINS[`layers-${format}`]);
  });
});

describe('determinism', () => {
  it.each([
    ['busybox', 'oci'],
    ['busybox', 'docker'],
    ['layers', 'oci'],
    ['layers', 'docker'],
  ] as const)('two builds of %s as %s into different paths are byte-identical', async (name, format) => {
    const first = await buildImage(name, format, join(dir, `a-${name}-${format}.tar`));
    const second = await buildImage(name, format, join(dir, `b-${name}-${format}.tar`));
    expect(second.path).not.toBe(first.path);
    const [a, b] = await Promise.all([readFile(first.path), readFile(second.path)]);
    expect(digestOf(b)).toBe(digestOf(a));
    expect(b.equals(a)).toBe(true);
    expect({ ...second, path: '' }).toEqual({ ...first, path: '' });
  });

  it('the same image in both formats shares its config', async () => {
    const oci = await buildImage('layers', 'oci', join(dir, 'cfg-oci.tar'));
    const docker = await buildImage('layers', 'docker', join(dir, 'cfg-docker.tar'));
    expect(docker.config.digest).toBe(oci.config.digest);
    expect(docker.diffIds).toEqual(oci.diffIds);
  });
});
