import { readFileSync } from 'node:fs';
import { cgroupsV1, cgroupsV2, type MessageInit, type protobuf } from '@berth/api';
import type { CgroupMode, ContainerStats } from '@berth/runtime';

/** Type URL of Stats' payload on cgroup v1 and hybrid hosts, as containerd's runc shim sends it. */
export const CGROUPS_V1_METRICS_TYPE_URL = 'io.containerd.cgroups.v1.Metrics';
/** Type URL of Stats' payload on pure cgroup v2 hosts. */
export const CGROUPS_V2_METRICS_TYPE_URL = 'io.containerd.cgroups.v2.Metrics';

/**
 * A runtime's stats sample in containerd's format, ready for the shim's Stats answer: an Any
 * holding `io.containerd.cgroups.v2.Metrics` on a pure cgroup v2 host, else
 * `io.containerd.cgroups.v1.Metrics` (hybrid hosts keep their controllers on v1, and containerd
 * reports v1 there too). `ctr tasks metrics` decodes either.
 */
export function metricsAny(stats: ContainerStats, mode: CgroupMode): protobuf.Any {
  if (mode === 'v2') return { typeUrl: CGROUPS_V2_METRICS_TYPE_URL, value: cgroupsV2.Metrics.encode(toCgroupsV2Metrics(stats)) };
  return { typeUrl: CGROUPS_V1_METRICS_TYPE_URL, value: cgroupsV1.Metrics.encode(toCgroupsV1Metrics(stats)) };
}

/**
 * The part of runc's `events --stats` data (runc's `types.Stats` JSON) read here. crun's stats
 * (read from the cgroup files by @berth/runtime) use the same names for what they have.
 */
interface RuntimeStats {
  cpu?: {
    usage?: { total?: number; kernel?: number; user?: number; percpu?: number[] };
    throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  memory?: {
    cache?: number;
    usage?: RuntimeMemoryEntry;
    swap?: RuntimeMemoryEntry;
    kernel?: RuntimeMemoryEntry;
    kernelTCP?: RuntimeMemoryEntry;
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
  blkio?: Partial<Record<RuntimeBlkioList, RuntimeBlkioEntry[]>>;
  hugetlb?: Record<string, { usage?: number; max?: number; failcnt?: number }>;
  network_interfaces?: RuntimeInterface[] | null;
}

interface RuntimeMemoryEntry {
  limit?: number;
  usage?: number;
  max?: number;
  failcnt?: number;
}

interface RuntimeBlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

type RuntimeBlkioList =
  | 'ioServiceBytesRecursive'
  | 'ioServicedRecursive'
  | 'ioQueueRecursive'
  | 'ioServiceTimeRecursive'
  | 'ioWaitTimeRecursive'
  | 'ioMergedRecursive'
  | 'ioTimeRecursive'
  | 'sectorsRecursive';

/** runc marshals its network interfaces with Go's field names. */
interface RuntimeInterface {
  Name?: string;
  RxBytes?: number;
  RxPackets?: number;
  RxErrors?: number;
  RxDropped?: number;
  TxBytes?: number;
  TxPackets?: number;
  TxErrors?: number;
  TxDropped?: number;
}

type NumericKeys<T> = { [K in keyof T]-?: T[K] extends number ? K : never }[keyof T];

/** memory.stat's key of each v1 counter; `total_<key>` feeds `total<Field>` for the first 15. */
const V1_MEMORY_STAT: readonly (readonly [NumericKeys<cgroupsV1.MemoryStat>, string])[] = [
  ['cache', 'cache'],
  ['rss', 'rss'],
  ['rssHuge', 'rss_huge'],
  ['mappedFile', 'mapped_file'],
  ['dirty', 'dirty'],
  ['writeback', 'writeback'],
  ['pgPgIn', 'pgpgin'],
  ['pgPgOut', 'pgpgout'],
  ['pgFault', 'pgfault'],
  ['pgMajFault', 'pgmajfault'],
  ['inactiveAnon', 'inactive_anon'],
  ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'],
  ['activeFile', 'active_file'],
  ['unevictable', 'unevictable'],
];

const V1_BLKIO: readonly (readonly [keyof cgroupsV1.BlkIOStat, RuntimeBlkioList])[] = [
  ['ioServiceBytesRecursive', 'ioServiceBytesRecursive'],
  ['ioServicedRecursive', 'ioServicedRecursive'],
  // runc spells this one's JSON name without the "d".
  ['ioQueuedRecursive', 'ioQueueRecursive'],
  ['ioServiceTimeRecursive', 'ioServiceTimeRecursive'],
  ['ioWaitTimeRecursive', 'ioWaitTimeRecursive'],
  ['ioMergedRecursive', 'ioMergedRecursive'],
  ['ioTimeRecursive', 'ioTimeRecursive'],
  ['sectorsRecursive', 'sectorsRecursive'],
];

/**
 * Converts a runtime stats sample to containerd's cgroups v1 `Metrics`. A section the runtime
 * left out stays absent; a present `memory` always carries its `usage`/`swap`/`kernel`/
 * `kernelTcp` entries and a present `cpu` its `usage`, because `ctr tasks metrics` reads them
 * without a nil check.
 */
export function toCgroupsV1Metrics(sample: ContainerStats): MessageInit<cgroupsV1.Metrics> {
  const s = sample as RuntimeStats;
  const m: MessageInit<cgroupsV1.Metrics> = {};
  if (s.hugetlb) {
    m.hugetlb = Object.entries(s.hugetlb).map(([pagesize, h]) => ({ pagesize, usage: n(h.usage), max: n(h.max), failcnt: n(h.failcnt) }));
  }
  if (s.pids) m.pids = { current: n(s.pids.current), limit: n(s.pids.limit) };
  if (s.cpu) {
    const u = s.cpu.usage ?? {};
    const t = s.cpu.throttling ?? {};
    m.cpu = {
      usage: { total: n(u.total), kernel: n(u.kernel), user: n(u.user), perCpu: (u.percpu ?? []).map(n) },
      throttling: { periods: n(t.periods), throttledPeriods: n(t.throttledPeriods), throttledTime: n(t.throttledTime) },
    };
  }
  if (s.memory) {
    const raw = s.memory.raw ?? {};
    const memory: MessageInit<cgroupsV1.MemoryStat> = {
      usage: entry(s.memory.usage),
      swap: entry(s.memory.swap),
      kernel: entry(s.memory.kernel),
      kernelTcp: entry(s.memory.kernelTCP),
      hierarchicalMemoryLimit: n(raw.hierarchical_memory_limit),
      hierarchicalSwapLimit: n(raw.hierarchical_memsw_limit),
    };
    for (const [field, key] of V1_MEMORY_STAT) {
      memory[field] = n(raw[key]);
      memory[`total${field[0]!.toUpperCase()}${field.slice(1)}` as NumericKeys<cgroupsV1.MemoryStat>] = n(raw[`total_${key}`]);
    }
    if (raw.cache === undefined && s.memory.cache !== undefined) memory.cache = n(s.memory.cache);
    m.memory = memory;
  }
  if (s.blkio) {
    const blkio: MessageInit<cgroupsV1.BlkIOStat> = {};
    for (const [field, key] of V1_BLKIO) {
      blkio[field] = (s.blkio[key] ?? []).map((e) => ({
        op: e.op ?? '',
        device: deviceName(n(e.major), n(e.minor)),
        major: n(e.major),
        minor: n(e.minor),
        value: n(e.value),
      }));
    }
    m.blkio = blkio;
  }
  if (s.network_interfaces) {
    m.network = s.network_interfaces.map((i) => ({
      name: i.Name ?? '',
      rxBytes: n(i.RxBytes),
      rxPackets: n(i.RxPackets),
      rxErrors: n(i.RxErrors),
      rxDropped: n(i.RxDropped),
      txBytes: n(i.TxBytes),
      txPackets: n(i.TxPackets),
      txErrors: n(i.TxErrors),
      txDropped: n(i.TxDropped),
    }));
  }
  return m;
}

/** memory.stat keys of cgroup v2 that are `MemoryStat` fields 1–31 under the same (snake_case) name. */
const V2_MEMORY_STAT: readonly NumericKeys<cgroupsV2.MemoryStat>[] = [
  'anon', 'file', 'kernelStack', 'slab', 'sock', 'shmem', 'fileMapped', 'fileDirty', 'fileWriteback', 'anonThp',
  'inactiveAnon', 'activeAnon', 'inactiveFile', 'activeFile', 'unevictable', 'slabReclaimable', 'slabUnreclaimable',
  'pgfault', 'pgmajfault', 'workingsetRefault', 'workingsetActivate', 'workingsetNodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thpFaultAlloc', 'thpCollapseAlloc',
];

/** `2^64 - 1` as runc reports an unlimited v2 swap ("max"); JSON makes it 2^64. */
const UNLIMITED = 2 ** 64;

/**
 * Converts a runtime stats sample taken on a cgroup v2 host to containerd's cgroups v2
 * `Metrics`: CPU times in microseconds, memory.stat's counters, io.stat per device (from the
 * blkio lists runc fills on v2), hugetlb.
 */
export function toCgroupsV2Metrics(sample: ContainerStats): MessageInit<cgroupsV2.Metrics> {
  const s = sample as RuntimeStats;
  const m: MessageInit<cgroupsV2.Metrics> = {};
  if (s.pids) m.pids = { current: n(s.pids.current), limit: n(s.pids.limit) };
  if (s.cpu) {
    const u = s.cpu.usage ?? {};
    const t = s.cpu.throttling ?? {};
    m.cpu = {
      usageUsec: usec(u.total),
      userUsec: usec(u.user),
      systemUsec: usec(u.kernel),
      nrPeriods: n(t.periods),
      nrThrottled: n(t.throttledPeriods),
      throttledUsec: usec(t.throttledTime),
    };
  }
  if (s.memory) {
    const raw = s.memory.raw ?? {};
    const usage = s.memory.usage ?? {};
    const swap = s.memory.swap ?? {};
    const memory: MessageInit<cgroupsV2.MemoryStat> = {
      usage: n(usage.usage),
      usageLimit: n(usage.limit),
      maxUsage: n(usage.max),
      // runc reports v2 swap as memory + swap (v1's memsw); containerd reports swap alone.
      swapUsage: Math.max(0, n(swap.usage) - n(usage.usage)),
      swapLimit: swap.limit === undefined || swap.limit >= UNLIMITED || usage.limit === undefined || usage.limit >= UNLIMITED ? n(swap.limit) : Math.max(0, swap.limit - usage.limit),
      swapMaxUsage: n(swap.max),
    };
    for (const field of V2_MEMORY_STAT) memory[field] = n(raw[field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]);
    m.memory = memory;
  }
  if (s.blkio) {
    const devices = new Map<string, MessageInit<cgroupsV2.IOEntry>>();
    const add = (list: RuntimeBlkioEntry[] | undefined, read: 'rbytes' | 'rios', write: 'wbytes' | 'wios'): void => {
      for (const e of list ?? []) {
        const key = `${n(e.major)}:${n(e.minor)}`;
        let d = devices.get(key);
        if (!d) devices.set(key, (d = { major: n(e.major), minor: n(e.minor) }));
        if (e.op?.toLowerCase() === 'read') d[read] = n(e.value);
        if (e.op?.toLowerCase() === 'write') d[write] = n(e.value);
      }
    };
    add(s.blkio.ioServiceBytesRecursive, 'rbytes', 'wbytes');
    add(s.blkio.ioServicedRecursive, 'rios', 'wios');
    m.io = { usage: [...devices.values()] };
  }
  if (s.hugetlb) {
    m.hugetlb = Object.entries(s.hugetlb).map(([pagesize, h]) => ({ pagesize, current: n(h.usage), max: n(h.max) }));
  }
  return m;
}

function entry(e: RuntimeMemoryEntry | undefined): MessageInit<cgroupsV1.MemoryEntry> {
  return { limit: n(e?.limit), usage: n(e?.usage), max: n(e?.max), failcnt: n(e?.failcnt) };
}

/** A counter as a uint64 field takes it: a non-negative integer, 0 for anything else. */
function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function usec(ns: number | undefined): number {
  return Math.floor(n(ns) / 1000);
}

const deviceNames = new Map<string, string>();

/** `/dev/<name>` of a block device (from sysfs), as containerd fills `BlkIOEntry.device`; '' when unknown. */
function deviceName(major: number, minor: number): string {
  const key = `${major}:${minor}`;
  let name = deviceNames.get(key);
  if (name === undefined) {
    name = '';
    try {
      const m = /^DEVNAME=(.+)$/m.exec(readFileSync(`/sys/dev/block/${key}/uevent`, 'utf8'));
      if (m) name = `/dev/${m[1]}`;
    } catch {
      // not a block device known to sysfs (or sysfs not mounted): leave the name empty
    }
    deviceNames.set(key, name);
  }
  return name;
}
