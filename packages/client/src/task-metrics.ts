import { cgroupsV1, cgroupsV2 } from '@berth/api';

/** The cgroup figures `berth stats` shows, from either version of containerd's Metrics. */
export interface TaskStats {
  /** CPU time used by the cgroup since it was made, in nanoseconds. */
  cpuNs: number;
  /** Memory in use, less the inactive page cache (as Docker reports it), in bytes. */
  memoryUsage: number;
  /** The cgroup's memory limit in bytes; 0 when it has none (v2 "max"), else possibly the v1 "unlimited" value. */
  memoryLimit: number;
  /** Processes in the cgroup. */
  pids: number;
}

const V1 = 'io.containerd.cgroups.v1.Metrics';
const V2 = 'io.containerd.cgroups.v2.Metrics';

/**
 * Decodes Tasks.Metrics' Any (`io.containerd.cgroups.v1.Metrics` or `…v2.Metrics`, with or without
 * a `type.googleapis.com/` prefix). Undefined for any other type or an empty payload.
 */
export function decodeTaskStats(typeUrl: string, value: Uint8Array): TaskStats | undefined {
  const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (value.length === 0) return undefined;
  if (type === V1) {
    const m = cgroupsV1.Metrics.decode(value);
    const mem = m.memory;
    const usage = mem?.usage?.usage ?? 0;
    return {
      cpuNs: m.cpu?.usage?.total ?? 0,
      memoryUsage: Math.max(0, usage - (mem?.totalInactiveFile ?? 0)),
      memoryLimit: mem?.usage?.limit ?? 0,
      pids: m.pids?.current ?? 0,
    };
  }
  if (type === V2) {
    const m = cgroupsV2.Metrics.decode(value);
    const mem = m.memory;
    return {
      cpuNs: (m.cpu?.usageUsec ?? 0) * 1000,
      memoryUsage: Math.max(0, (mem?.usage ?? 0) - (mem?.inactiveFile ?? 0)),
      memoryLimit: mem?.usageLimit ?? 0,
      pids: m.pids?.current ?? 0,
    };
  }
  return undefined;
}
