import type { ContainerRecord } from '@berth/client';

type Spec = ContainerRecord['spec'];

/** The mounts berth's defaults do not add (binds from -v/--mount, tmpfs from --mount), as Docker's `Mounts`. */
export function userMounts(spec: Spec): Record<string, unknown>[] {
  const defaults = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  return (spec.mounts ?? [])
    .filter((m) => m.type === 'bind' || (m.type === 'tmpfs' && !defaults.has(m.destination)))
    .map((m) => ({ Type: m.type, Source: m.type === 'bind' ? m.source : '', Destination: m.destination, RW: !(m.options ?? []).includes('ro') }));
}

/** Docker's `HostConfig` fields berth sets: the cgroup limits and `ReadonlyRootfs`, from the spec (0: unlimited). */
export function hostConfig(spec: Spec): Record<string, unknown> {
  const r = spec.linux?.resources ?? {};
  const quota = r.cpu?.quota ?? 0;
  const period = r.cpu?.period ?? 0;
  return {
    Memory: r.memory?.limit ?? 0,
    NanoCpus: quota > 0 && period > 0 ? Math.round((quota * 1e9) / period) : 0,
    CpuQuota: quota,
    CpuPeriod: period,
    PidsLimit: r.pids?.limit ?? 0,
    ReadonlyRootfs: spec.root?.readonly ?? false,
  };
}
