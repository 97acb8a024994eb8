import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOverlaySnapshotter } from '@berth/snapshots';
import { containerdMissing, startContainerd } from '@berth/engine/testing';
import type { Benchmark } from './harness';

/**
 * One snapshot life cycle on overlayfs: prepare an active snapshot, commit it, prepare a child
 * on it, then remove both — through @berth/snapshots in-process, against the same five steps
 * with `ctr snapshots` on Debian's containerd. Each ctr step is a process plus a gRPC call, so
 * a third contender times five `ctr version` calls: the part of containerd's figure that is
 * the client's process and connection, not the snapshotter.
 */
export const snapshotsBenchmark: Benchmark = {
  name: 'snapshots-lifecycle',
  description: 'overlay snapshot prepare + commit + prepare child + remove ×2, berth in-process vs `ctr snapshots`',
  iterations: 15,
  warmup: 2,
  async setup() {
    const missing = containerdMissing();
    if (missing) return { skip: missing };
    const root = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-snapshots-'));
    const snapshotter = await createOverlaySnapshotter({ root });
    const containerd = await startContainerd();
    let round = 0;
    return {
      subject: {
        name: 'berth snapshots',
        async run() {
          const n = round++;
          await snapshotter.prepare(`active-${n}`);
          await snapshotter.commit(`committed-${n}`, `active-${n}`);
          await snapshotter.prepare(`child-${n}`, `committed-${n}`);
          await snapshotter.remove(`child-${n}`);
          await snapshotter.remove(`committed-${n}`);
        },
      },
      baselines: [
        {
          name: 'ctr snapshots (containerd)',
          async run() {
            const n = round++;
            await containerd.ctr('snapshots', 'prepare', `active-${n}`);
            await containerd.ctr('snapshots', 'commit', `committed-${n}`, `active-${n}`);
            await containerd.ctr('snapshots', 'prepare', `child-${n}`, `committed-${n}`);
            await containerd.ctr('snapshots', 'rm', `child-${n}`);
            await containerd.ctr('snapshots', 'rm', `committed-${n}`);
          },
        },
        {
          name: 'ctr process floor (5× version)',
          async run() {
            for (let i = 0; i < 5; i++) await containerd.ctr('version');
          },
        },
      ],
      async teardown() {
        await snapshotter.close();
        await rm(root, { recursive: true, force: true });
        await containerd.stop();
      },
    };
  },
};
