import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore } from '@berth/content';
import type { Digest } from '@berth/spec';
import type { Benchmark } from './harness';

const chunkSize = 1 << 20;
const totalBytes = 1 << 30;

/**
 * Ingest 1 GiB (1 MiB chunks from memory) through the local content store — write, hash,
 * fsync, commit by atomic rename — against hashing the same bytes with node's sha256 alone,
 * the floor no verified store can beat. Target: ≥ 0.8× the floor's throughput.
 */
export const ingestBenchmark: Benchmark = {
  name: 'content-ingest-1GiB',
  description: 'ingest 1 GiB through @berth/content vs sha256 of the same bytes (the floor)',
  iterations: 5,
  async setup() {
    // Eight distinct random chunks, cycled: the bytes are incompressible and not one repeated block.
    const chunks = Array.from({ length: 8 }, () => randomBytes(chunkSize));
    const nth = (i: number) => chunks[i % chunks.length]!;
    const root = await mkdtemp(join(process.env.BERTH_BENCH_DIR ?? tmpdir(), 'berth-bench-ingest-'));
    const store = createLocalStore({ root });
    let committed: Digest | undefined;
    let round = 0;
    return {
      subject: {
        name: 'berth content ingest',
        async run() {
          const writer = await store.writer({ ref: `bench-${round++}`, total: totalBytes });
          for (let i = 0; i < totalBytes / chunkSize; i++) await writer.write(nth(i));
          committed = await writer.commit({ size: totalBytes });
        },
        async after() {
          if (committed) await store.delete(committed);
          committed = undefined;
        },
      },
      baselines: [
        {
          name: 'sha256 floor',
          run() {
            const hash = createHash('sha256');
            for (let i = 0; i < totalBytes / chunkSize; i++) hash.update(nth(i));
            return hash.digest('hex');
          },
        },
      ],
      teardown: () => rm(root, { recursive: true, force: true }),
    };
  },
  describe(result) {
    const gibPerSec = (ms: number) => (totalBytes / 2 ** 30 / (ms / 1000)).toFixed(2);
    const floor = result.baselines[0]!;
    return [
      `throughput: berth ${gibPerSec(result.subject.medianMs)} GiB/s, floor ${gibPerSec(floor.medianMs)} GiB/s`,
      `berth runs at ${(floor.medianMs / result.subject.medianMs).toFixed(3)}× the sha256 floor (target ≥ 0.8)`,
    ];
  },
};
