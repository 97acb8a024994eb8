import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStore } from '@berth/content';
import type { Digest } from '@berth/spec';
import type { Benchmark, ContenderResult } from './harness';

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
          // What this disk allows: the same bytes written and fdatasync'ed with no hashing. On a
          // disk slower than sha256 this, not the hash, bounds any durable store.
          name: 'durable write floor',
          async run() {
            const fh = await open(join(root, 'disk-floor'), 'w');
            try {
              for (let i = 0; i < totalBytes / chunkSize; i += 16) await fh.writev(Array.from({ length: 16 }, (_, k) => nth(i + k)));
              await fh.datasync();
            } finally {
              await fh.close();
            }
          },
          after: () => rm(join(root, 'disk-floor'), { force: true }),
        },
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
    const [disk, floor] = result.baselines as [ContenderResult, ContenderResult];
    return [
      `throughput: berth ${gibPerSec(result.subject.medianMs)} GiB/s, sha256 floor ${gibPerSec(floor.medianMs)} GiB/s, durable write floor ${gibPerSec(disk.medianMs)} GiB/s`,
      `berth runs at ${(floor.medianMs / result.subject.medianMs).toFixed(3)}× the sha256 floor (target ≥ 0.8)`,
      `and at ${(disk.medianMs / result.subject.medianMs).toFixed(3)}× this disk's durable write floor; the bound is the slower of the two floors`,
    ];
  },
};
