import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '@berth/errdefs';
import { cgroupMode } from './cgroup-mode';
import type { ContainerStats } from './types';

/**
 * One stats sample of the cgroups `pid` is in, read from the cgroup files themselves (for
 * runtimes without `events --stats`, such as crun): CPU time, memory usage and limit, pids.
 * Works on v1, hybrid and v2 hosts; a controller that is not mounted is left out. NotFound
 * when the process is gone.
 */
export function cgroupStats(pid: number, root = '/sys/fs/cgroup'): ContainerStats {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    throw notFound(`process ${pid}: not found`);
  }
  const paths = new Map<string, { dir: string; path: string }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , controllers, path] = m as unknown as [string, string, string, string];
    if (controllers === '') paths.set('', { dir: '', path });
    for (const c of controllers.split(',')) if (c) paths.set(c, { dir: controllers, path });
  }
  const stats: ContainerStats = {};
  if (cgroupMode(root) === 'v2') {
    const v2 = paths.get('');
    if (!v2) return stats;
    const dir = join(root, v2.path);
    const usec = keyed(read(join(dir, 'cpu.stat')))?.usage_usec;
    if (usec !== undefined) stats.cpu = { usage: { total: usec * 1000 } };
    const usage = num(read(join(dir, 'memory.current')));
    if (usage !== undefined) stats.memory = { usage: { usage, limit: num(read(join(dir, 'memory.max'))) ?? 0 } };
    const current = num(read(join(dir, 'pids.current')));
    if (current !== undefined) stats.pids = { current, limit: num(read(join(dir, 'pids.max'))) ?? 0 };
    return stats;
  }
  const v1 = (controller: string, file: string): string | undefined => {
    const p = paths.get(controller);
    return p ? read(join(root, p.dir, p.path, file)) ?? read(join(root, controller, p.path, file)) : undefined;
  };
  const cpu = num(v1('cpuacct', 'cpuacct.usage'));
  if (cpu !== undefined) {
    const ticks = keyed(v1('cpuacct', 'cpuacct.stat'));
    const throttled = keyed(v1('cpu', 'cpu.stat'));
    stats.cpu = {
      usage: {
        total: cpu,
        percpu: (v1('cpuacct', 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(Number),
        // cpuacct.stat counts USER_HZ (100/s) ticks; runc reports nanoseconds.
        user: (ticks?.user ?? 0) * NS_PER_TICK,
        kernel: (ticks?.system ?? 0) * NS_PER_TICK,
      },
      throttling: { periods: throttled?.nr_periods ?? 0, throttledPeriods: throttled?.nr_throttled ?? 0, throttledTime: throttled?.throttled_time ?? 0 },
    };
  }
  const usage = num(v1('memory', 'memory.usage_in_bytes'));
  if (usage !== undefined) {
    const entry = (prefix: string) => ({
      usage: num(v1('memory', `${prefix}.usage_in_bytes`)) ?? 0,
      limit: num(v1('memory', `${prefix}.limit_in_bytes`)) ?? 0,
      max: num(v1('memory', `${prefix}.max_usage_in_bytes`)) ?? 0,
      failcnt: num(v1('memory', `${prefix}.failcnt`)) ?? 0,
    });
    const raw = keyed(v1('memory', 'memory.stat')) ?? {};
    stats.memory = { usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), cache: raw.total_cache ?? raw.cache ?? 0, raw };
  }
  const current = num(v1('pids', 'pids.current'));
  if (current !== undefined) stats.pids = { current, limit: num(v1('pids', 'pids.max')) ?? 0 };
  const blkio = blkioStats((file) => v1('blkio', file));
  if (blkio) stats.blkio = blkio;
  return stats;
}

const NS_PER_TICK = 10_000_000;

/** runc's blkio lists (v1 file → JSON name), `major:minor op value` lines each. */
const BLKIO_FILES: [string, string][] = [
  ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
  ['blkio.io_queued_recursive', 'ioQueuedRecursive'],
  ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
  ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
  ['blkio.io_merged_recursive', 'ioMergedRecursive'],
  ['blkio.time_recursive', 'ioTimeRecursive'],
  ['blkio.sectors_recursive', 'sectorsRecursive'],
];

function blkioStats(read: (file: string) => string | undefined): Record<string, { major: number; minor: number; op: string; value: number }[]> | undefined {
  let any = false;
  const out: Record<string, { major: number; minor: number; op: string; value: number }[]> = {};
  for (const [file, name] of BLKIO_FILES) {
    const text = read(file);
    if (text === undefined) continue;
    any = true;
    out[name] = [];
    for (const line of text.split('\n')) {
      const m = /^(\d+):(\d+)(?: (\S+))? (\d+)$/.exec(line.trim());
      if (m) out[name].push({ major: Number(m[1]), minor: Number(m[2]), op: m[3] ?? '', value: Number(m[4]) });
    }
  }
  return any ? out : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A number from a cgroup file; 'max' (no limit) is 0, as runc reports it. */
function num(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return 0;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function keyed(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}
