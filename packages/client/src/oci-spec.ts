import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument } from '@berth/errdefs';
import type { ImageConfig, LinuxNamespace, Mount, Spec, User } from '@berth/spec';

/** crun 1.8 refuses runtime-spec versions above 1.1.x; every field written here exists in 1.1. */
export const SPEC_OCI_VERSION = '1.1.0';
/** The PATH a container gets when neither the image nor the caller sets one. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A bind mount from the host (`-v /host:/ctr[:ro]`). */
export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
}

/** A tmpfs mount (`--mount type=tmpfs,target=/t[,tmpfs-size=N][,tmpfs-mode=1777]`). */
export interface TmpfsMount {
  destination: string;
  /** Bytes; absent: the kernel's default (half of RAM). */
  size?: number;
  /** Permission bits of the mount's root (default 01777, as Docker). */
  mode?: number;
  readonly?: boolean;
}

/** Cgroup limits (Docker's `--memory`, `--cpus`, `--pids-limit`); absent fields are unlimited. */
export interface ResourceLimits {
  /** Memory limit in bytes. */
  memory?: number;
  /** CFS quota in microseconds per `cpuPeriod` (default period 100000). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** Maximum number of processes; 0 or negative is unlimited, as Docker. */
  pidsLimit?: number;
}

/** Options of `specFromImage`, Docker's `run` options. */
export interface SpecOptions {
  /** Used for the cgroups path `/<namespace>/<id>`. */
  id: string;
  namespace: string;
  /** Replaces the image's Cmd (Docker's trailing arguments). */
  args?: string[];
  /** Replaces the image's Entrypoint and clears its Cmd (`--entrypoint`; `[]` clears it). */
  entrypoint?: string[];
  /** `KEY=VALUE` entries, overriding the image's by key (`-e`). */
  env?: string[];
  cwd?: string;
  /** The resolved user (see `resolveUser`); default root. */
  user?: User;
  terminal?: boolean;
  hostname?: string;
  mounts?: BindMount[];
  tmpfs?: TmpfsMount[];
  /** Mount the root filesystem read-only (`--read-only`). */
  readonlyRootfs?: boolean;
  resources?: ResourceLimits;
  /** Keep the host's network namespace (default: a new, empty one as `--net none`). */
  hostNetwork?: boolean;
}

/**
 * The OCI runtime spec of a container from an image config, with containerd's defaults (the
 * set `ctr run` and `@berth/runtime`'s generator write): own pid/ipc/uts/mount/network
 * namespaces, /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, read-only /sys and cgroup tree, the
 * default capabilities, masked and read-only paths, RLIMIT_NOFILE 1024 (clamped to this host's
 * hard limit: raising it needs CAP_SYS_RESOURCE), root `rootfs` in the bundle. Args follow
 * Docker: entrypoint + cmd. Env: the image's, then `env` by key, a default PATH, TERM=xterm with
 * a terminal. InvalidArgument for no command at all or a relative cwd or mount destination.
 */
export function specFromImage(image: ImageConfig, o: SpecOptions): Spec {
  const config = image.config ?? {};
  const entrypoint = o.entrypoint ?? config.Entrypoint ?? [];
  const cmd = o.args && o.args.length > 0 ? o.args : o.entrypoint !== undefined ? [] : (config.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalidArgument(`container ${o.id}: no command specified (the image has no Entrypoint or Cmd)`);
  const cwd = o.cwd || config.WorkingDir || '/';
  if (!posix.isAbsolute(cwd)) throw invalidArgument(`container ${o.id}: the working directory "${cwd}" is invalid, it needs to be an absolute path`);
  let env = mergeEnv(config.Env ?? [], o.env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH_ENV, ...env];
  if (o.terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  if (o.hostname && !env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${o.hostname}`);
  const caps = defaultCapabilities();
  const nofile = Math.min(1024, hostNofileHard());
  const mounts: Mount[] = defaultMounts();
  const add = (m: Mount): void => {
    const at = mounts.findIndex((d) => posix.normalize(d.destination) === posix.normalize(m.destination));
    if (at >= 0) mounts.splice(at, 1);
    mounts.push(m);
  };
  for (const m of o.mounts ?? []) {
    if (!posix.isAbsolute(m.destination)) throw invalidArgument(`invalid mount "${m.source}:${m.destination}": the destination must be an absolute path`);
    add({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw'] });
  }
  for (const t of o.tmpfs ?? []) {
    if (!posix.isAbsolute(t.destination)) throw invalidArgument(`invalid tmpfs mount "${t.destination}": the destination must be an absolute path`);
    const mode = (t.mode ?? 0o1777).toString(8);
    add({ destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', t.readonly ? 'ro' : 'rw', `mode=${mode}`, ...(t.size ? [`size=${t.size}`] : [])] });
  }
  const namespaces: LinuxNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(o.hostNetwork ? [] : [{ type: 'network' as const }])];
  return {
    ociVersion: SPEC_OCI_VERSION,
    process: {
      terminal: o.terminal ?? false,
      user: o.user ?? { uid: 0, gid: 0 },
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: o.readonlyRootfs ?? false },
    hostname: o.hostname ?? o.id.slice(0, 12),
    mounts,
    linux: {
      cgroupsPath: `/${o.namespace}/${o.id}`,
      namespaces,
      resources: { devices: defaultDeviceRules(), ...resources(o.resources) },
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  } as Spec;
}

/** `base` with `overrides` applied by key (`K=V` replaces, a bare `K` without `=` is dropped as Docker does when unset). */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const e of overrides) {
    const key = e.split('=', 1)[0]!;
    const at = out.findIndex((b) => b.split('=', 1)[0] === key);
    if (!e.includes('=')) {
      const v = process.env[key];
      if (v === undefined) continue;
      const full = `${key}=${v}`;
      if (at >= 0) out[at] = full;
      else out.push(full);
      continue;
    }
    if (at >= 0) out[at] = e;
    else out.push(e);
  }
  return out;
}

/**
 * Resolves Docker's `--user` (`uid`, `uid:gid`, `name`, `name:group`) against the container's
 * /etc/passwd and /etc/group text (either may be empty). A numeric uid needs no entry; a name
 * that is not found is InvalidArgument, as Docker's "unable to find user".
 */
export function resolveUser(user: string, passwd: string, group: string): User {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const pw = passwd.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4);
  const gr = group.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3);
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = Number(pw.find((f) => Number(f[2]) === uid)?.[3] ?? 0);
  } else {
    const e = pw.find((f) => f[0] === u);
    if (!e) throw invalidArgument(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(e[2]);
    gid = Number(e[3]);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = gr.find((f) => f[0] === g);
      if (!e) throw invalidArgument(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(e[2]);
    }
  }
  const name = pw.find((f) => Number(f[2]) === uid)?.[0];
  const additional = name ? gr.filter((f) => (f[3] ?? '').split(',').includes(name)).map((f) => Number(f[2])).filter((n) => n !== gid) : [];
  return { uid, gid, ...(additional.length ? { additionalGids: additional } : {}) };
}

/** The runtime spec's `linux.resources` entries for `limits` (none for absent or unlimited values). */
function resources(limits: ResourceLimits | undefined): object {
  if (!limits) return {};
  const out: Record<string, object> = {};
  if (limits.memory !== undefined && limits.memory > 0) out.memory = { limit: limits.memory };
  if (limits.cpuQuota !== undefined && limits.cpuQuota > 0) out.cpu = { quota: limits.cpuQuota, period: limits.cpuPeriod ?? 100_000 };
  if (limits.pidsLimit !== undefined && limits.pidsLimit > 0) out.pids = { limit: limits.pidsLimit };
  return out;
}

function hostNofileHard(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    return hard && /^\d+$/.test(hard) ? Number(hard) : 1024;
  } catch {
    return 1024;
  }
}

function defaultCapabilities(): string[] {
  return ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];
}

function defaultMounts(): Mount[] {
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

function defaultDeviceRules(): object[] {
  const c = (major: number, minor?: number) => ({ allow: true, type: 'c', major, ...(minor === undefined ? {} : { minor }), access: 'rwm' });
  return [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' }, c(1, 3), c(1, 8), c(1, 7), c(5, 0), c(1, 5), c(1, 9), c(5, 2), c(136)];
}
