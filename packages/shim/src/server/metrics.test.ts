import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupsV1, cgroupsV2 } from '@berth/api';
import { cgroupMode } from '@berth/runtime';
import { writeRootfs } from '@berth/testimages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectShim, type ShimClient } from '../client/client';
import { startShim, type ShimHandle } from '../client/start';
import { isAlive, makeBundle, runtimeOptions } from '../test-harness';
import { CGROUPS_V1_METRICS_TYPE_URL, CGROUPS_V2_METRICS_TYPE_URL, metricsAny, toCgroupsV1Metrics, toCgroupsV2Metrics } from './metrics';

// A sample as runc 1.1 prints it (`runc events --stats`, data member) on a cgroup v1 host,
// trimmed, with blkio, hugetlb and a network interface added in runc's spelling.
const runcV1Sample = {
  cpu: {
    usage: { total: 12362352, percpu: [3859641, 8502711], percpu_kernel: [0, 12000000], kernel: 10000000, user: 20000000 },
    throttling: { periods: 7, throttledPeriods: 2, throttledTime: 5000 },
  },
  memory: {
    usage: { limit: 9223372036854771712, usage: 561152, max: 2248704, failcnt: 0 },
    swap: { limit: 9223372036854771712, usage: 565248, max: 2248704, failcnt: 0 },
    kernel: { limit: 9223372036854771712, usage: 487424, max: 602112, failcnt: 0 },
    kernelTCP: { limit: 9223372036854771712, failcnt: 0 },
    raw: {
      cache: 8192, rss: 49152, pgpgin: 384, pgpgout: 372, pgfault: 655, pgmajfault: 3, hierarchical_memory_limit: 67108864,
      hierarchical_memsw_limit: 134217728, total_cache: 12288, total_rss: 53248, total_pgpgin: 400, total_pgmajfault: 4,
      total_unevictable: 1, swapcached: 0,
    },
  },
  pids: { current: 1, limit: 50 },
  blkio: {
    ioServiceBytesRecursive: [{ major: 254, minor: 0, op: 'Read', value: 4096 }, { major: 254, minor: 0, op: 'Total', value: 4096 }],
    ioQueueRecursive: [{ major: 254, minor: 0, op: 'Write', value: 2 }],
  },
  hugetlb: { '2MB': { usage: 2097152, max: 4194304, failcnt: 1 } },
  intel_rdt: {},
  network_interfaces: [{ Name: 'eth0', RxBytes: 100, RxPackets: 2, TxBytes: 50, TxDropped: 1 }],
};

describe('toCgroupsV1Metrics', () => {
  it('maps runc stats to the v1 fields, memory.stat keys included', () => {
    const m = cgroupsV1.Metrics.decode(cgroupsV1.Metrics.encode(toCgroupsV1Metrics(runcV1Sample)));
    expect(m.pids).toEqual({ current: 1, limit: 50 });
    expect(m.cpu).toEqual({
      usage: { total: 12362352, kernel: 10000000, user: 20000000, perCpu: [3859641, 8502711] },
      throttling: { periods: 7, throttledPeriods: 2, throttledTime: 5000 },
    });
    expect(m.memory).toMatchObject({
      cache: 8192,
      rss: 49152,
      pgPgIn: 384,
      pgPgOut: 372,
      pgFault: 655,
      pgMajFault: 3,
      hierarchicalMemoryLimit: 67108864,
      hierarchicalSwapLimit: 134217728,
      totalCache: 12288,
      totalRss: 53248,
      totalPgPgIn: 400,
      totalPgMajFault: 4,
      totalUnevictable: 1,
      // 2^63 - 4096 (a v1 "no limit") is a double exactly, so it survives JSON and the wire
      usage: { limit: 9223372036854771712, usage: 561152, max: 2248704, failcnt: 0 },
      swap: { limit: 9223372036854771712, usage: 565248, max: 2248704, failcnt: 0 },
      kernel: { limit: 9223372036854771712, usage: 487424, max: 602112, failcnt: 0 },
      kernelTcp: { limit: 9223372036854771712, usage: 0, max: 0, failcnt: 0 },
    });
    expect(m.blkio?.ioServiceBytesRecursive).toEqual([
      { op: 'Read', device: expect.any(String), major: 254, minor: 0, value: 4096 },
      { op: 'Total', device: expect.any(String), major: 254, minor: 0, value: 4096 },
    ]);
    expect(m.blkio?.ioQueuedRecursive.map((e) => [e.op, e.value])).toEqual([['Write', 2]]);
    expect(m.blkio?.ioServicedRecursive).toEqual([]);
    expect(m.hugetlb).toEqual([{ pagesize: '2MB', usage: 2097152, max: 4194304, failcnt: 1 }]);
    expect(m.network).toEqual([
      { name: 'eth0', rxBytes: 100, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 50, txPackets: 0, txErrors: 0, txDropped: 1 },
    ]);
  });

  it('leaves out what the runtime did not report, but never a memory or cpu without usage', () => {
    // crun's stats (read from the cgroup files by @berth/runtime) have no raw memory.stat.
    const m = cgroupsV1.Metrics.decode(cgroupsV1.Metrics.encode(toCgroupsV1Metrics({ memory: { usage: { usage: 4096 } }, cpu: {} })));
    expect(m.pids).toBeUndefined();
    expect(m.blkio).toBeUndefined();
    expect(m.hugetlb).toEqual([]);
    expect(m.memory?.usage).toEqual({ limit: 0, usage: 4096, max: 0, failcnt: 0 });
    expect(m.memory?.swap).toBeDefined();
    expect(m.memory?.kernelTcp).toBeDefined();
    expect(m.cpu?.usage).toEqual({ total: 0, kernel: 0, user: 0, perCpu: [] });
    expect(cgroupsV1.Metrics.decode(cgroupsV1.Metrics.encode(toCgroupsV1Metrics({})))).toEqual(cgroupsV1.Metrics.create({}));
  });
});

describe('toCgroupsV2Metrics', () => {
  it('maps runc stats taken on a v2 host to the v2 fields', () => {
    const sample = {
      cpu: { usage: { total: 5_000_999, user: 3_000_000, kernel: 2_000_000 }, throttling: { periods: 4, throttledPeriods: 1, throttledTime: 7000 } },
      memory: {
        usage: { limit: 67108864, usage: 1048576, max: 2097152 },
        // runc adds memory to swap on v2 (v1's memsw); the limit likewise unless it is "max"
        swap: { limit: 67108864 + 33554432, usage: 1048576 + 4096 },
        raw: { anon: 4096, file: 8192, kernel_stack: 16384, pgfault: 9, workingset_nodereclaim: 2, thp_collapse_alloc: 1 },
      },
      pids: { current: 2 },
      blkio: {
        ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 512 }, { major: 8, minor: 0, op: 'Write', value: 1024 }],
        ioServicedRecursive: [{ major: 8, minor: 0, op: 'Read', value: 1 }, { major: 8, minor: 0, op: 'Write', value: 2 }],
      },
      hugetlb: { '1GB': { usage: 0, max: 0 } },
    };
    const m = cgroupsV2.Metrics.decode(cgroupsV2.Metrics.encode(toCgroupsV2Metrics(sample)));
    expect(m.pids).toEqual({ current: 2, limit: 0 });
    expect(m.cpu).toEqual({ usageUsec: 5000, userUsec: 3000, systemUsec: 2000, nrPeriods: 4, nrThrottled: 1, throttledUsec: 7 });
    expect(m.memory).toMatchObject({
      usage: 1048576,
      usageLimit: 67108864,
      maxUsage: 2097152,
      swapUsage: 4096,
      swapLimit: 33554432,
      anon: 4096,
      file: 8192,
      kernelStack: 16384,
      pgfault: 9,
      workingsetNodereclaim: 2,
      thpCollapseAlloc: 1,
    });
    expect(m.io?.usage).toEqual([{ major: 8, minor: 0, rbytes: 512, wbytes: 1024, rios: 1, wios: 2 }]);
    expect(m.hugetlb).toEqual([{ pagesize: '1GB', current: 0, max: 0 }]);
  });
});

describe('metricsAny', () => {
  it('picks the v2 message on a pure v2 host and v1 otherwise', () => {
    const stats = { pids: { current: 3 } };
    for (const mode of ['v1', 'hybrid'] as const) {
      const any = metricsAny(stats, mode);
      expect(any.typeUrl).toBe(CGROUPS_V1_METRICS_TYPE_URL);
      expect(cgroupsV1.Metrics.decode(any.value).pids?.current).toBe(3);
    }
    const any = metricsAny(stats, 'v2');
    expect(any.typeUrl).toBe(CGROUPS_V2_METRICS_TYPE_URL);
    expect(cgroupsV2.Metrics.decode(any.value).pids?.current).toBe(3);
  });
});

// Stats of running containers through a real berth-shim (dist/cli.js, built before the tests),
// real runc and crun, real cgroups. Root only.
const isRoot = process.getuid?.() === 0;
let base: string;
let lower: string;
let shim: ShimHandle;
let client: ShimClient;

beforeAll(async () => {
  if (!isRoot) return;
  base = await mkdtemp(join(tmpdir(), 'berth-shim-metrics-'));
  lower = join(base, 'busybox');
  await writeRootfs('busybox', lower);
  shim = await startShim({ group: `metrics-${process.pid}`, socketDir: join(base, 's'), runtime: 'runc', runtimeRoot: join(base, 'rt-runc'), idleExitMs: 600_000 });
  client = await connectShim(shim.address);
}, 60_000);

afterAll(async () => {
  if (!isRoot) return;
  await client?.shutdown({ now: true }).catch(() => {});
  client?.close();
  if (shim && isAlive(shim.pid)) process.kill(shim.pid, 'SIGKILL');
  if (base) await rm(base, { recursive: true, force: true });
});

describe.skipIf(!isRoot).each(['runc', 'crun'] as const)('Stats of a running %s container', (flavor) => {
  it(`is containerd's cgroups metrics for this host, with the container's own numbers`, async () => {
    const id = `metrics-${flavor}-${process.pid}`;
    const limit = 64 * 1024 * 1024;
    const b = await makeBundle(base, id, lower, { args: ['sleep', '1000'], resources: { memory: limit, pids: 50 } });
    await client.create({ id, bundle: b.dir, rootfs: b.rootfs, options: runtimeOptions(flavor, join(base, `rt-${flavor}`)) });
    try {
      await client.start({ id });
      const { stats } = await client.stats({ id });
      if (cgroupMode() === 'v2') {
        expect(stats?.typeUrl).toBe(CGROUPS_V2_METRICS_TYPE_URL);
        const m = cgroupsV2.Metrics.decode(stats!.value);
        expect(m.pids).toEqual({ current: 1, limit: 50 });
        expect(m.memory?.usage).toBeGreaterThan(0);
        expect(m.memory?.usageLimit).toBe(limit);
        expect(m.cpu?.usageUsec).toBeGreaterThan(0);
        return;
      }
      expect(stats?.typeUrl).toBe(CGROUPS_V1_METRICS_TYPE_URL);
      const m = cgroupsV1.Metrics.decode(stats!.value);
      // `sleep` is the container's one process; the limits are the spec's
      expect(m.pids).toEqual({ current: 1, limit: 50 });
      expect(m.memory?.usage?.usage).toBeGreaterThan(0);
      expect(m.memory?.usage?.limit).toBe(limit);
      expect(m.cpu?.usage?.total).toBeGreaterThan(0);
      if (flavor === 'runc') {
        // runc's `events --stats` carries memory.stat and per-CPU usage as well
        expect(m.memory?.hierarchicalMemoryLimit).toBe(limit);
        expect(m.memory?.totalPgFault).toBeGreaterThan(0);
        expect(m.cpu?.usage?.perCpu.length).toBeGreaterThan(0);
      }
    } finally {
      await client.kill({ id, signal: 9, all: true }).catch(() => {});
      await client.wait({ id });
      await client.delete({ id });
    }
  });
});
