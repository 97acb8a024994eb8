import { posix } from 'node:path';
import { invalidArgument } from '@berth/errdefs';
import { type LinuxNamespace, type LinuxResources, type Mount, type Spec } from '@berth/spec';
import {
  DEFAULT_PATH_ENV,
  defaultCapabilities,
  defaultDeviceRules,
  defaultMaskedPaths,
  defaultMounts,
  defaultNamespaces,
  defaultReadonlyPaths,
  defaultRlimits,
} from './defaults';
import { mergeEnv } from './env';
import { hostNofileHardLimit } from './host-limits';
import type { ContainerMount, ContainerResources, GenerateSpecOptions, NetworkMode } from './types';
import { resolveUser } from './user';

/**
 * The `ociVersion` generated specs carry. Not `@berth/spec`'s `ociRuntimeVersion` (1.3.0): crun
 * 1.8 rejects any version above 1.1.x ("unknown version specified"), and every field written
 * here exists in runtime-spec 1.1 (the version containerd 1.7 writes).
 */
export const GENERATED_OCI_VERSION = '1.1.0';

/**
 * Builds the OCI runtime spec (`config.json`) of a container from an image config plus options,
 * with containerd's defaults: own pid/ipc/uts/mount/network namespaces, /proc, /dev, /dev/pts,
 * /dev/shm, /dev/mqueue, read-only /sys and /sys/fs/cgroup, the default capability set in
 * bounding/effective/permitted, masked and read-only /proc and /sys paths, RLIMIT_NOFILE
 * 1024/1024 (clamped to the host's hard limit), a deny-by-default device cgroup, and cgroups
 * path `/berth/<id>`. `oomScoreAdj` is never set (a negative value needs CAP_SYS_RESOURCE).
 *
 * Args follow Docker: entrypoint + cmd, where `entrypoint` replaces the image's Entrypoint and
 * clears its Cmd, and `args` replaces Cmd. Env is the image's, then `env` by key, with a default
 * PATH when neither sets one (and TERM=xterm with a terminal). Cwd defaults to `/`. The user is
 * resolved against the rootfs (see `resolveUser`).
 *
 * The only I/O is reading the rootfs's /etc/passwd and /etc/group (and /proc/self/limits unless
 * `hostNofileHard` is given). Throws InvalidArgument for an empty command, a relative cwd or
 * mount destination, an unknown user or group, or a non-positive resource value.
 */
export async function generateSpec(opts: GenerateSpecOptions): Promise<Spec> {
  const config = opts.image.config ?? {};
  const what = `container ${opts.id}`;
  if (!opts.id) throw invalidArgument('container id must not be empty');

  const entrypoint = opts.entrypoint ?? config.Entrypoint ?? [];
  const cmd = opts.args ?? (opts.entrypoint !== undefined ? [] : (config.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalidArgument(`${what}: no command: the image has no Entrypoint or Cmd and none was given`);

  const cwd = opts.cwd ?? (config.WorkingDir || '/');
  if (!posix.isAbsolute(cwd)) throw invalidArgument(`${what}: cwd ${JSON.stringify(cwd)} must be absolute`);

  let env = mergeEnv(config.Env ?? [], opts.env ?? []);
  if (!env.some((e) => e.startsWith('PATH='))) env = [DEFAULT_PATH_ENV, ...env];
  if (opts.terminal && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');

  const user = await resolveUser(opts.rootfs, opts.user ?? config.User ?? '');
  const caps = defaultCapabilities();
  const nofileHard = opts.hostNofileHard ?? hostNofileHardLimit();

  const spec: Spec = {
    ociVersion: opts.ociVersion ?? GENERATED_OCI_VERSION,
    process: {
      terminal: opts.terminal ?? false,
      user,
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      rlimits: defaultRlimits(nofileHard),
      noNewPrivileges: opts.noNewPrivileges ?? false,
    },
    root: { path: opts.rootfs, readonly: opts.readonlyRootfs ?? false },
    mounts: applyMounts(defaultMounts(), opts.mounts ?? [], what),
    linux: {
      cgroupsPath: opts.cgroupsPath ?? `/berth/${opts.id}`,
      namespaces: namespaces(opts.network ?? 'none'),
      resources: { devices: defaultDeviceRules(), ...resources(opts.resources ?? {}, what) },
      maskedPaths: defaultMaskedPaths(),
      readonlyPaths: defaultReadonlyPaths(),
    },
  };
  if (opts.hostname !== undefined) spec.hostname = opts.hostname;
  return spec;
}

function namespaces(network: NetworkMode): LinuxNamespace[] {
  const all = defaultNamespaces();
  if (network === 'host') return all.filter((ns) => ns.type !== 'network');
  if (typeof network === 'object') return all.map((ns) => (ns.type === 'network' ? { type: 'network', path: network.path } : ns));
  return all;
}

function applyMounts(defaults: Mount[], extra: ContainerMount[], what: string): Mount[] {
  const out = [...defaults];
  for (const m of extra) {
    if (!posix.isAbsolute(m.destination)) throw invalidArgument(`${what}: mount destination ${JSON.stringify(m.destination)} must be absolute`);
    const ro = m.readonly ? ['ro'] : [];
    let mount: Mount;
    if (m.type === 'bind') {
      if (!posix.isAbsolute(m.source)) throw invalidArgument(`${what}: bind source ${JSON.stringify(m.source)} must be absolute`);
      mount = { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', ...ro, ...(m.options ?? [])] };
    } else if (m.type === 'tmpfs') {
      const opts = ['nosuid', 'nodev', `mode=${(m.mode ?? 0o1777).toString(8)}`];
      if (m.size !== undefined) opts.push(`size=${positive(m.size, 'tmpfs size', what)}`);
      mount = { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: [...opts, ...ro, ...(m.options ?? [])] };
    } else {
      throw invalidArgument(`${what}: mount type ${JSON.stringify((m as { type: unknown }).type)}: want bind or tmpfs`);
    }
    const at = out.findIndex((d) => posix.normalize(d.destination) === posix.normalize(m.destination));
    if (at >= 0) out.splice(at, 1);
    out.push(mount);
  }
  return out;
}

function positive(n: number, name: string, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument(`${what}: ${name} ${n} must be a positive integer`);
  return n;
}

function resources(r: ContainerResources, what: string): LinuxResources {
  const out: LinuxResources = {};
  if (r.memory !== undefined) out.memory = { limit: positive(r.memory, 'memory', what) };
  if (r.cpuShares !== undefined || r.cpuQuota !== undefined || r.cpuPeriod !== undefined) {
    out.cpu = {};
    if (r.cpuShares !== undefined) out.cpu.shares = positive(r.cpuShares, 'cpuShares', what);
    if (r.cpuQuota !== undefined) {
      out.cpu.quota = positive(r.cpuQuota, 'cpuQuota', what);
      out.cpu.period = 100_000;
    }
    if (r.cpuPeriod !== undefined) out.cpu.period = positive(r.cpuPeriod, 'cpuPeriod', what);
  }
  if (r.pids !== undefined) out.pids = { limit: positive(r.pids, 'pids', what) };
  return out;
}
