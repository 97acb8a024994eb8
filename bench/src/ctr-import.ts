import { testImage } from '@berth/testimages';
import { startBothEngines } from './berthd';
import type { Benchmark } from './harness';

/**
 * `ctr images import` of the large test image (163 MiB, 7 layers; imported and unpacked into
 * overlayfs) with the same ctr binary against berthd and against Debian's containerd, both
 * running for the whole benchmark; after each round the image is removed with `--sync`, so each
 * daemon's garbage collector removes its content and snapshots and every round writes everything.
 */
export const ctrImportBenchmark: Benchmark = {
  name: 'ctr-import-large',
  description: '`ctr images import` of the large image (oci-archive), same ctr: berthd vs containerd',
  iterations: 5,
  warmup: 1,
  async setup() {
    const engines = await startBothEngines();
    if ('skip' in engines) return engines;
    const archive = await testImage('large', 'oci');
    const { berthd, containerd } = engines;
    return {
      subject: {
        name: 'ctr → berthd',
        run: () => berthd.ctr('images', 'import', archive.path),
        after: async () => void (await berthd.ctr('images', 'rm', '--sync', 'docker.io/library/large:latest')),
      },
      baselines: [
        {
          name: 'ctr → containerd',
          run: () => containerd.ctr('images', 'import', archive.path),
          after: async () => void (await containerd.ctr('images', 'rm', '--sync', 'docker.io/library/large:latest')),
        },
      ],
      teardown: engines.stop,
    };
  },
};
