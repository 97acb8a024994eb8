import { cgroupMode } from '@berth/runtime';
import { imageReference } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCtr, runCtr, type TestEngine } from '../testing';
import { TaskShims } from './tasks';
import { startTasksTestEngine } from './tasks-test-engine';

// `ctr tasks metrics` against berthd: ctr decodes the shim's cgroups v1 Metrics (this host is
// v1/hybrid) and prints them as a table or as JSON. Real ctr, real runc and crun, real cgroups.
// Root only; the v1 table's rows are what ctr 1.6 prints for io.containerd.cgroups.v1.Metrics.
const isRoot = process.getuid?.() === 0;
const isV1 = cgroupMode() !== 'v2';
const flavors = ['runc', 'crun'] as const;
const memoryLimit = 64 * 1024 * 1024;
let engine: TestEngine;
let shims: TaskShims;
const ref = imageReference('busybox');
const idOf = (flavor: string): string => `metrics-${flavor}`;

beforeAll(async () => {
  if (!isRoot || !hasCtr) return;
  ({ engine, shims } = await startTasksTestEngine('berth-tasks-metrics-'));
}, 120_000);

afterAll(async () => {
  if (engine) {
    for (const flavor of flavors) {
      await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', idOf(flavor)]);
      await runCtr(engine.address, ['tasks', 'rm', '-f', idOf(flavor)]);
      await runCtr(engine.address, ['containers', 'rm', idOf(flavor)]);
    }
  }
  await shims?.shutdownAll();
  await engine?.stop();
}, 60_000);

/**
 * `ctr tasks metrics`' table: the `ID TIMESTAMP` header and its row, then `METRIC VALUE` rows
 * (values may hold spaces, as `cpuacct.usage_percpu`'s `[1 2]` does).
 */
function parseMetricsTable(stdout: string): { header: string[]; id: string; timestamp: string; metrics: Map<string, string> } {
  const lines = stdout.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  const [id = '', ...rest] = (lines[1] ?? '').trim().split(/\s{2,}/);
  const at = lines.findIndex((l) => /^METRIC\s+VALUE\s*$/.test(l));
  const metrics = new Map<string, string>();
  for (const l of at < 0 ? [] : lines.slice(at + 1)) {
    const m = /^(\S+)\s+(.*?)\s*$/.exec(l);
    if (m) metrics.set(m[1]!, m[2]!);
  }
  return { header, id, timestamp: rest.join(' '), metrics };
}

describe.skipIf(!isRoot || !hasCtr || !isV1).each(flavors)('ctr tasks metrics (%s)', (flavor) => {
  const id = idOf(flavor);

  it('prints the cgroups v1 table and JSON of a running container', async () => {
    const run = await runCtr(engine.address, ['run', '-d', '--null-io', '--runc-binary', flavor, '--memory-limit', String(memoryLimit), ref, id, 'sleep', '1000']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const table = await runCtr(engine.address, ['tasks', 'metrics', id]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const t = parseMetricsTable(table.stdout);
    expect(t.header).toEqual(['ID', 'TIMESTAMP']);
    expect(t.id).toBe(id);
    // Go's time.Time format; a Metric without a timestamp would print year 0001
    expect(t.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    expect(t.timestamp).not.toMatch(/^0001-/);
    expect([...t.metrics.keys()]).toEqual([
      'memory.usage_in_bytes',
      'memory.limit_in_bytes',
      'memory.stat.cache',
      'cpuacct.usage',
      'cpuacct.usage_percpu',
      'pids.current',
      'pids.limit',
    ]);
    expect(Number(t.metrics.get('memory.usage_in_bytes'))).toBeGreaterThan(0);
    expect(Number(t.metrics.get('memory.limit_in_bytes'))).toBe(memoryLimit);
    expect(Number(t.metrics.get('cpuacct.usage'))).toBeGreaterThan(0);
    expect(t.metrics.get('cpuacct.usage_percpu')).toMatch(/^\[(\d+( \d+)*)?\]$/);
    expect(t.metrics.get('pids.current')).toBe('1');

    const json = await runCtr(engine.address, ['tasks', 'metrics', '--format', 'json', id]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    // Go's encoding/json of containerd's v1 Metrics: snake_case names, zero values omitted
    const m = JSON.parse(json.stdout) as {
      pids?: { current?: number; limit?: number };
      cpu?: { usage?: { total?: number; per_cpu?: number[] } };
      memory?: { usage?: { usage?: number; limit?: number }; hierarchical_memory_limit?: number };
    };
    expect(m.pids?.current).toBe(1);
    expect(m.memory?.usage?.usage).toBeGreaterThan(0);
    expect(m.memory?.usage?.limit).toBe(memoryLimit);
    expect(m.cpu?.usage?.total).toBeGreaterThan(0);
    if (flavor === 'runc') {
      // runc's `events --stats` carries per-CPU usage and memory.stat, which the table shows in part
      expect(m.cpu?.usage?.per_cpu?.length).toBeGreaterThan(0);
      expect(m.memory?.hierarchical_memory_limit).toBe(memoryLimit);
      expect(t.metrics.get('cpuacct.usage_percpu')).not.toBe('[]');
    }

    expect((await runCtr(engine.address, ['tasks', 'kill', '-s', 'SIGKILL', id])).code).toBe(0);
    expect((await runCtr(engine.address, ['tasks', 'rm', '-f', id])).code).toBe(0);
    expect((await runCtr(engine.address, ['containers', 'rm', id])).stderr).toBe('');
  });
});
