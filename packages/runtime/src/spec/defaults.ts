import type { LinuxDeviceCgroup, LinuxNamespace, Mount, POSIXRlimit } from '@berth/spec';

/**
 * Default values of a generated spec, the same set containerd's default Unix spec carries.
 * Pure data: every function returns a fresh copy the caller may change.
 */

/** The PATH a container gets when neither the image nor the caller sets one. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The capabilities a container's process holds (bounding, effective and permitted; since
 * containerd 1.6 not inheritable, so that exec'd set-user-ID-less binaries cannot gain them).
 */
export function defaultCapabilities(): string[] {
  return [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FSETID',
    'CAP_FOWNER',
    'CAP_MKNOD',
    'CAP_NET_RAW',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETFCAP',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT',
    'CAP_KILL',
    'CAP_AUDIT_WRITE',
  ];
}

/** The namespaces a container gets by default: its own pid, ipc, uts, mount and network. */
export function defaultNamespaces(): LinuxNamespace[] {
  return [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }];
}

/** The default mounts, in mount order: /proc, /dev and its children, /sys, the cgroup tree (ro). */
export function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/** Paths the runtime hides (bind /dev/null or an empty read-only tmpfs over them). */
export function defaultMaskedPaths(): string[] {
  return [
    '/proc/acpi',
    '/proc/asound',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/proc/sched_debug',
    '/proc/scsi',
    '/sys/firmware',
    '/sys/devices/virtual/powercap',
  ];
}

/** Paths the runtime remounts read-only. */
export function defaultReadonlyPaths(): string[] {
  return ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
}

/**
 * The device cgroup rules: deny everything, then allow mknod of any device and the usual
 * character devices (null, zero, full, tty, random, urandom, ptmx, the pty slaves).
 */
export function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const c = (major: number | undefined, minor: number | undefined, access = 'rwm'): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access });
  return [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', access: 'm' },
    { allow: true, type: 'b', access: 'm' },
    c(1, 3),
    c(1, 8),
    c(1, 7),
    c(5, 0),
    c(1, 5),
    c(1, 9),
    c(5, 2),
    c(136, undefined),
  ].map((rule) => Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as unknown as LinuxDeviceCgroup);
}

/** The soft and hard RLIMIT_NOFILE a container gets, before clamping to the host's hard limit. */
export const DEFAULT_NOFILE = 1024;

/**
 * The default rlimits: RLIMIT_NOFILE 1024/1024, both clamped to `hostNofileHard` when that is
 * lower, because without CAP_SYS_RESOURCE raising a limit above the runtime's own hard limit
 * fails with EPERM inside the runtime.
 */
export function defaultRlimits(hostNofileHard: number): POSIXRlimit[] {
  const n = Math.min(DEFAULT_NOFILE, hostNofileHard);
  return [{ type: 'RLIMIT_NOFILE', hard: n, soft: n }];
}
