import { hideUnifiedHelper } from '@berth/sys';
import { cgroupMode } from './cgroup-mode';

/**
 * Why this exists: crun 1.8 (Debian 12) refuses a hybrid cgroup layout (v1 controllers plus a
 * cgroup2 mount at /sys/fs/cgroup/unified) with "cgroups in hybrid mode not supported, drop all
 * controllers from cgroupv2", while runc accepts it. crun decides from what is mounted, so it
 * works when it cannot see that cgroup2 mount: run it in a private mount namespace (propagation
 * private, so nothing leaks back to the host) where /sys/fs/cgroup/unified is unmounted, then
 * exec crun. The container's namespaces are created inside that one; the host's mounts are
 * untouched. Only the subcommands that set up cgroups (create, run, exec) need it; see oci-runtime.ts.
 *
 * Node cannot unshare(2) itself (it is multi-threaded), so the wrapper is a separate program:
 * @berth/sys's `berth-hide-unified` (one exec, about 3 ms here), or where that was not built,
 * util-linux `unshare` plus `sh` and `umount` (about 6.5 ms).
 */

/** The unified mount the wrapper hides. */
export const UNIFIED_MOUNT = '/sys/fs/cgroup/unified';

/** Whether crun needs the wrapper on this host: only on a hybrid cgroup layout. */
export function crunNeedsWrapper(): boolean {
  return cgroupMode() === 'hybrid';
}

/**
 * The command and arguments that run `binary args…` with the unified cgroup mount hidden, as
 * `argv0` (default `binary`; the sh fallback cannot set it). The exit status and stdio are
 * crun's own (the wrapper `exec`s it); a failing step fails the whole command with the
 * wrapper's message on stderr. `helper` null forces the unshare + sh fallback.
 */
export function wrapHidingUnified(
  binary: string,
  args: readonly string[],
  helper: string | null = hideUnifiedHelper() ?? null,
  argv0?: string,
): { file: string; args: string[]; argv0?: string } {
  if (helper) return { file: helper, args: [UNIFIED_MOUNT, ...(argv0 ? ['--argv0', argv0] : []), binary, ...args] };
  const script = `umount ${UNIFIED_MOUNT} && exec "$0" "$@"`;
  return { file: 'unshare', args: ['--mount', '--propagation', 'private', 'sh', '-c', script, binary, ...args] };
}
