import { testImage } from '@berth/testimages';
import { startBerthd, type BerthdProcess } from './berthd';
import { containerdMissing, startContainerd, type Containerd } from '@berth/engine/testing';
import type { Benchmark } from './harness';

const IMAGE = 'docker.io/library/busybox:latest';

/** berthd and containerd side by side, busybox imported into both, driven by the same ctr. */
async function bothEngines(): Promise<{ berthd: BerthdProcess; containerd: Containerd } | { skip: string }> {
  const missing = containerdMissing();
  if (missing) return { skip: missing };
  const archive = (await testImage('busybox', 'oci')).path;
  const berthd = await startBerthd();
  const containerd = await startContainerd();
  await berthd.ctr('images', 'import', archive);
  await containerd.ctr('images', 'import', archive);
  return { berthd, containerd };
}

let seq = 0;
const runRm = (engine: { ctr(...args: string[]): Promise<string> }) => engine.ctr('run', '--rm', IMAGE, `run-${process.pid}-${seq++}`, 'true');

function ctrRunBenchmark(concurrency: number): Benchmark {
  return {
    name: concurrency === 1 ? 'ctr-run' : `ctr-run-x${concurrency}`,
    description: `${concurrency === 1 ? '' : `${concurrency} concurrent `}\`ctr run --rm busybox true\`, same ctr: berthd vs containerd`,
    iterations: concurrency === 1 ? 15 : 5,
    warmup: 1,
    async setup() {
      const s = await bothEngines();
      if ('skip' in s) return s;
      const many = (engine: { ctr(...args: string[]): Promise<string> }) => Promise.all(Array.from({ length: concurrency }, () => runRm(engine)));
      return {
        subject: { name: 'ctr → berthd', run: () => many(s.berthd) },
        baselines: [{ name: 'ctr → containerd', run: () => many(s.containerd) }],
        async teardown() {
          await s.berthd.stop();
          await s.containerd.stop();
        },
      };
    },
  };
}

export const ctrRunBenchmarkSingle = ctrRunBenchmark(1);
export const ctrRunBenchmarkConcurrent = ctrRunBenchmark(10);
