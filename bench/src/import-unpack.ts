import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore } from '@berth/content';
import { createApplier } from '@berth/diff';
import { createMemoryImageStore, importArchive, unpack } from '@berth/images';
import { createOverlaySnapshotter, type OverlaySnapshotter } from '@berth/snapshots';
import { testImage } from '@berth/testimages';
import { containerdMissing, startContainerd } from '@berth/engine/testing';
import type { Benchmark } from './harness';

/**
 * Import an oci-archive and unpack it into overlayfs: berth's libraries in-process (a fresh
 * content store and snapshotter each round, opened before the clock starts, as a running daemon
 * has them) against `ctr images import` on Debian's containerd (which imports and unpacks into
 * overlayfs; the image is removed with `images rm --sync` between rounds, so each round starts
 * from an empty store there too).
 */
function importUnpackBenchmark(image: 'layers' | 'large', iterations: number): Benchmark {
  return {
    name: `import-unpack-${image}`,
    description: `import + unpack of the ${image} test image (oci-archive) into overlayfs, berth vs \`ctr images import\``,
    iterations,
    async setup() {
      const missing = containerdMissing();
      if (missing) return { skip: missing };
      const archive = await testImage(image, 'oci');
      const base = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-import-'));
      const containerd = await startContainerd();
      let round = 0;
      let state: { dir: string; snapshotter: OverlaySnapshotter } | undefined;
      const name = `docker.io/library/${image}:latest`;
      return {
        subject: {
          name: 'berth import + unpack',
          async before() {
            const dir = join(base, String(round++));
            state = { dir, snapshotter: await createOverlaySnapshotter({ root: join(dir, 'snapshots') }) };
          },
          async run() {
            const content = createLocalStore({ root: join(state!.dir, 'content') });
            const images = createMemoryImageStore();
            const { images: imported } = await importArchive(content, images, createReadStream(archive.path));
            const applier = createApplier({ content });
            await unpack({ content, snapshotter: state!.snapshotter, applier, snapshotterName: 'overlayfs', image: imported[0]! });
          },
          async after() {
            await state!.snapshotter.close();
            await rm(state!.dir, { recursive: true, force: true });
          },
        },
        baselines: [
          {
            name: 'ctr images import (containerd)',
            run: () => containerd.ctr('images', 'import', archive.path),
            after: async () => void (await containerd.ctr('images', 'rm', '--sync', name)),
          },
        ],
        async teardown() {
          await containerd.stop();
          await rm(base, { recursive: true, force: true });
        },
      };
    },
  };
}

export const importUnpackLayersBenchmark = importUnpackBenchmark('layers', 7);
export const importUnpackLargeBenchmark = importUnpackBenchmark('large', 5);
