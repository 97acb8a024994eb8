import { testImage } from '@berth/testimages';
import { startBerthd, type BerthdProcess } from './berthd';
import { containerdMissing, startContainerd } from '@berth/engine/testing';
import type { Benchmark } from './harness';

/**
 * `ctr images import` of the large test image (163 MiB, 7 layers; imported and unpacked into
 * overlayfs) with the same ctr binary against berthd and against Debian's containerd. berthd gets
 * a fresh root for every round (started untimed), while containerd's image is removed with
 * `--sync` after each round (its GC then removes content and snapshots): both write everything.
 */
export const ctrImportBenchmark: Benchmark = {
  name: 'ctr-import-large',
  description: '`ctr images import` of the large image (oci-archive), same ctr: berthd vs containerd',
  iterations: 5,
  warmup: 1,
  async setup() {
    const missing = containerdMissing();
    if (missing) return { skip: missing };
    const archive = await testImage('large', 'oci');
    const containerd = await startContainerd();
    let berthd: BerthdProcess | undefined;
    return {
      subject: {
        name: 'ctr → berthd',
        async before() {
          berthd = await startBerthd();
        },
        run: () => berthd!.ctr('images', 'import', archive.path),
        async after() {
          await berthd!.stop();
        },
      },
      baselines: [
        {
          name: 'ctr → containerd',
          run: () => containerd.ctr('images', 'import', archive.path),
          after: async () => void (await containerd.ctr('images', 'rm', '--sync', 'docker.io/library/large:latest')),
        },
      ],
      teardown: () => containerd.stop(),
    };
  },
};
