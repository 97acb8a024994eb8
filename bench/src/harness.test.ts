import { describe, expect, it } from 'vitest';
import { formatResult, median, runBenchmark, type Benchmark } from './harness';

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
});

describe('runBenchmark', () => {
  it('runs warm-up then interleaved rounds, with before/after around every run, and tears down', async () => {
    const calls: string[] = [];
    const contender = (name: string) => ({
      name,
      before: () => void calls.push(`${name}:before`),
      run: () => void calls.push(`${name}:run`),
      after: () => void calls.push(`${name}:after`),
    });
    const bench: Benchmark = {
      name: 'b',
      description: 'd',
      iterations: 2,
      warmup: 1,
      setup: async () => ({ subject: contender('s'), baselines: [contender('f')], teardown: async () => void calls.push('teardown') }),
    };
    const result = await runBenchmark(bench);
    const runs = calls.filter((c) => c.endsWith(':run'));
    // warm-up s,f; round 1 s,f; round 2 reversed f,s
    expect(runs).toEqual(['s:run', 'f:run', 's:run', 'f:run', 'f:run', 's:run']);
    expect(calls.slice(0, 3)).toEqual(['s:before', 's:run', 's:after']);
    expect(calls.at(-1)).toBe('teardown');
    expect(result.subject.samplesMs).toHaveLength(2);
    expect(result.baselines[0]!.samplesMs).toHaveLength(2);
    expect(result.ratios.f).toBeCloseTo(result.subject.medianMs / result.baselines[0]!.medianMs);
  });

  it('tears down even when a run throws', async () => {
    let tornDown = false;
    const bench: Benchmark = {
      name: 'b',
      description: 'd',
      setup: async () => ({
        subject: { name: 's', run: () => Promise.reject(new Error('boom')) },
        baselines: [],
        teardown: async () => void (tornDown = true),
      }),
    };
    await expect(runBenchmark(bench)).rejects.toThrow('boom');
    expect(tornDown).toBe(true);
  });

  it('reports a skip with its reason', async () => {
    const bench: Benchmark = { name: 'b', description: 'd', setup: async () => ({ skip: 'no containerd' }) };
    const result = await runBenchmark(bench);
    expect(result.skipped).toBe('no containerd');
    expect(formatResult(bench, result)).toBe('b: skipped (no containerd)');
  });
});
