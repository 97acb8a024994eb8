import { cgroupsV1, cgroupsV2 } from '@berth/api';
import { describe, expect, it } from 'vitest';
import { decodeTaskStats } from './task-metrics';

describe('decodeTaskStats', () => {
  it('reads cgroups v1 Metrics: cpuacct total, usage less total_inactive_file, pids', () => {
    const value = cgroupsV1.Metrics.encode({ pids: { current: 3, limit: 0 }, cpu: { usage: { total: 5_000_000, kernel: 1, user: 2, perCpu: [] } }, memory: { totalInactiveFile: 1000, usage: { usage: 5096, limit: 1 << 30, max: 0, failcnt: 0 } } } as never);
    expect(decodeTaskStats('io.containerd.cgroups.v1.Metrics', value)).toEqual({ cpuNs: 5_000_000, memoryUsage: 4096, memoryLimit: 1 << 30, pids: 3 });
  });

  it('reads cgroups v2 Metrics (microseconds) with a type.googleapis.com prefix', () => {
    const value = cgroupsV2.Metrics.encode({ pids: { current: 2, limit: 0 }, cpu: { usageUsec: 7 }, memory: { usage: 300, inactiveFile: 100, usageLimit: 0 } } as never);
    expect(decodeTaskStats('type.googleapis.com/io.containerd.cgroups.v2.Metrics', value)).toEqual({ cpuNs: 7000, memoryUsage: 200, memoryLimit: 0, pids: 2 });
  });

  it('gives undefined for other types and empty payloads', () => {
    expect(decodeTaskStats('io.containerd.other.Metrics', new Uint8Array([8, 1]))).toBeUndefined();
    expect(decodeTaskStats('io.containerd.cgroups.v1.Metrics', new Uint8Array())).toBeUndefined();
  });
});
