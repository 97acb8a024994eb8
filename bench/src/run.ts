#!/usr/bin/env node
/**
 * Runs berth's benchmarks: `npm run bench` (all) or `npm run bench -- NAME…`.
 * `--json` prints the results as JSON after the tables.
 */
import { formatResult, runBenchmark, type Benchmark, type BenchmarkResult } from './harness';
import { ingestBenchmark } from './ingest';
import { importUnpackLargeBenchmark, importUnpackLayersBenchmark } from './import-unpack';
import { snapshotsBenchmark } from './snapshots';
import { containerMemoryBenchmark, containerRunBenchmark } from './containers';
import { ctrImportBenchmark } from './ctr-import';
import { ctrRunBenchmarkConcurrent, ctrRunBenchmarkSingle } from './ctr-run';
import { engineMemoryBenchmark } from './engine-memory';
import { berthRunBenchmark, berthVersionBenchmark } from './berth-cli';
import { registryPullBenchmark } from './registry-pull';

const benchmarks: Benchmark[] = [
  ingestBenchmark,
  importUnpackLayersBenchmark,
  importUnpackLargeBenchmark,
  snapshotsBenchmark,
  containerRunBenchmark,
  containerMemoryBenchmark,
  ctrImportBenchmark,
  ctrRunBenchmarkSingle,
  ctrRunBenchmarkConcurrent,
  engineMemoryBenchmark,
  berthRunBenchmark,
  berthVersionBenchmark,
  registryPullBenchmark,
];

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const selected = names.length ? benchmarks.filter((b) => names.includes(b.name)) : benchmarks;
  const results: BenchmarkResult[] = [];
  for (const bench of selected) {
    console.log(`running ${bench.name} …`);
    const result = await runBenchmark(bench, (line) => console.log(line));
    results.push(result);
    console.log(formatResult(bench, result));
    console.log();
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
