/**
 * Side-by-side benchmark harness. A benchmark is a subject (berth) and one or more
 * baselines (containerd, the raw runtime, a hashing floor) run in the same process and
 * the same run, interleaved round by round so that drift in the machine's speed hits all
 * of them alike. Results are medians; ratios are subject time / baseline time (below 1.0
 * means berth is faster).
 */

/** One thing to time. `run` is timed; `before`/`after` run around every iteration, untimed. */
export interface Contender {
  name: string;
  before?(): Promise<void> | void;
  run(): Promise<unknown> | unknown;
  after?(): Promise<void> | void;
}

/** A benchmark: what it measures and who competes. */
export interface Benchmark {
  name: string;
  description: string;
  /** Iterations per contender after warm-up (default 5). */
  iterations?: number;
  /** Untimed rounds first (default 1). */
  warmup?: number;
  /** Sets the contenders up; returns them and a teardown. Return `skip` to skip on this host. */
  setup(): Promise<{ subject: Contender; baselines: Contender[]; teardown?(): Promise<void> } | { skip: string }>;
  /** Extra lines to print from the result (for example throughput). */
  describe?(result: BenchmarkResult): string[];
}

export interface ContenderResult {
  name: string;
  samplesMs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface BenchmarkResult {
  name: string;
  subject: ContenderResult;
  baselines: ContenderResult[];
  /** subject median / baseline median, by baseline name. */
  ratios: Record<string, number>;
  skipped?: string;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeOnce(c: Contender): Promise<number> {
  await c.before?.();
  const start = process.hrtime.bigint();
  await c.run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await c.after?.();
  return ms;
}

function summarize(name: string, samplesMs: number[]): ContenderResult {
  return { name, samplesMs, medianMs: median(samplesMs), minMs: Math.min(...samplesMs), maxMs: Math.max(...samplesMs) };
}

/** Runs one benchmark: warm-up rounds, then interleaved timed rounds. */
export async function runBenchmark(bench: Benchmark, log: (line: string) => void = () => {}): Promise<BenchmarkResult> {
  const setup = await bench.setup();
  if ('skip' in setup) {
    const empty = summarize('-', [0]);
    return { name: bench.name, subject: empty, baselines: [], ratios: {}, skipped: setup.skip };
  }
  const contenders = [setup.subject, ...setup.baselines];
  const samples = contenders.map(() => [] as number[]);
  try {
    for (let round = 0; round < (bench.warmup ?? 1); round++) {
      for (const c of contenders) await timeOnce(c);
    }
    const iterations = bench.iterations ?? 5;
    for (let round = 0; round < iterations; round++) {
      // Alternate the order each round so neither side always runs on a warmer cache.
      const order = round % 2 ? [...contenders.keys()].reverse() : [...contenders.keys()];
      for (const i of order) samples[i]!.push(await timeOnce(contenders[i]!));
      log(`  round ${round + 1}/${iterations}: ${order.map((i) => `${contenders[i]!.name} ${samples[i]!.at(-1)!.toFixed(1)} ms`).join(', ')}`);
    }
  } finally {
    await setup.teardown?.();
  }
  const [subject, ...baselines] = contenders.map((c, i) => summarize(c.name, samples[i]!));
  const ratios = Object.fromEntries(baselines.map((b) => [b.name, subject!.medianMs / b.medianMs]));
  return { name: bench.name, subject: subject!, baselines, ratios };
}

/** Formats a result as a small table plus ratio lines. */
export function formatResult(bench: Benchmark, result: BenchmarkResult): string {
  if (result.skipped) return `${result.name}: skipped (${result.skipped})`;
  const rows = [result.subject, ...result.baselines].map(
    (r) => `  ${r.name.padEnd(28)} median ${r.medianMs.toFixed(1).padStart(9)} ms   min ${r.minMs.toFixed(1).padStart(9)}   max ${r.maxMs.toFixed(1).padStart(9)}   n=${r.samplesMs.length}`,
  );
  const ratios = Object.entries(result.ratios).map(
    ([name, ratio]) => `  ratio ${result.subject.name} / ${name} = ${ratio.toFixed(3)} (time; below 1.0 is faster)`,
  );
  return [`${result.name}: ${bench.description}`, ...rows, ...ratios, ...(bench.describe?.(result) ?? []).map((l) => `  ${l}`)].join('\n');
}
