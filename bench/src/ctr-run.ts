import { startBothEngines } from './berthd';
import type { Benchmark } from './harness';

const IMAGE = 'docker.io/library/busybox:latest';

let seq = 0;
const runRm = (engine: { ctr(...args: string[]): Promise<string> }) => engine.ctr('run', '--rm', IMAGE, `run-${process.pid}-${seq++}`, 'true');

function ctrRunBenchmark(concurrency: number): Benchmark {
  return {
    name: concurrency === 1 ? 'ctr-run' : `ctr-run-x${concurrency}`,
    description: `${concurrency === 1 ? '' : `${concurrency} concurrent `}\`ctr run --rm busybox true\`, same ctr: berthd vs containerd`,
    iterations: concurrency === 1 ? 15 : 5,
    warmup: 1,
    async setup() {
      const s = await startBothEngines('busybox');
      if ('skip' in s) return s;
      const many = (engine: { ctr(...args: string[]): Promise<string> }) => Promise.all(Array.from({ length: concurrency }, () => runRm(engine)));
      return {
        subject: { name: 'ctr → berthd', run: () => many(s.berthd) },
        baselines: [{ name: 'ctr → containerd', run: () => many(s.containerd) }],
        teardown: s.stop,
      };
    },
  };
}

export const ctrRunBenchmarkSingle = ctrRunBenchmark(1);
export const ctrRunBenchmarkConcurrent = ctrRunBenchmark(10);
