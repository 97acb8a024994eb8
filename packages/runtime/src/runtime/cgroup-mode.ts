import { statfsSync } from 'node:fs';

/** How the host mounts cgroups. */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

const CGROUP2_SUPER_MAGIC = 0x63677270;

function isCgroup2(path: string): boolean {
  try {
    return statfsSync(path).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/**
 * The host's cgroup layout, from the file system types under `root` (default /sys/fs/cgroup):
 * `v2` when `root` itself is cgroup2, `hybrid` when v1 controllers sit beside a cgroup2 mount at
 * `root/unified`, else `v1`.
 */
export function cgroupMode(root = '/sys/fs/cgroup'): CgroupMode {
  if (isCgroup2(root)) return 'v2';
  return isCgroup2(`${root}/unified`) ? 'hybrid' : 'v1';
}
