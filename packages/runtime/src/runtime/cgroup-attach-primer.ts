import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Why this exists: moving a process into a cgroup (a write to `cgroup.procs`, which runc and
 * crun do for every container's init and every exec on a cgroup v1 or hybrid host) takes the
 * kernel's `cgroup_threadgroup_rwsem` for writing. That lock is a per-CPU rwsem: a writer that
 * finds it in its fast mode first waits a whole RCU grace period to switch it over, 7–25 ms on
 * the 2-core VM this was measured on, more than half of a `crun create`. The lock stays switched
 * until one grace period after the last writer, so a writer that comes while another is waiting
 * shares its wait, and one that comes shortly after waits for nothing.
 *
 * So a runtime call that is about to attach a process starts, at the same time, a migration
 * that changes nothing: this process into the cgroup it is already in. Its grace period runs
 * while the runtime starts up, reads its config and clones the container, and the runtime's
 * own attach then finds the lock switched. A host mounted with `favordynmods` keeps the lock
 * switched all the time, and there the write costs microseconds.
 *
 * The write is best-effort: any error (no cgroup file system, a read-only one, a cgroup that
 * refuses processes) turns the primer off for the life of the process and changes nothing.
 */
export interface CgroupAttachPrimer {
  /**
   * Starts a no-op migration unless one is in flight; resolves when it is done or has failed
   * (never rejects). Callers need not wait for it.
   */
  prime(): Promise<void>;
}

let shared: CgroupAttachPrimer | undefined;

/** One primer for the whole process (its runtimes share it). */
export function processCgroupAttachPrimer(): CgroupAttachPrimer {
  return (shared ??= cgroupAttachPrimer());
}

/** A primer writing to this process's own cgroup's `cgroup.procs`. */
export function cgroupAttachPrimer(opts: { procfs?: string } = {}): CgroupAttachPrimer {
  const procfs = opts.procfs ?? '/proc';
  let target: string | null | undefined; // undefined: not looked up yet; null: off
  let inFlight: Promise<void> | undefined;
  return {
    prime() {
      if (inFlight) return inFlight;
      if (target === undefined) target = ownCgroupProcsFile(procfs);
      if (target === null) return Promise.resolve();
      inFlight = writeFile(target, '0', { flag: 'r+' }).then(
        () => {
          inFlight = undefined;
        },
        () => {
          target = null;
          inFlight = undefined;
        },
      );
      return inFlight;
    },
  };
}

/**
 * The `cgroup.procs` file of the cgroup this process is in, on the first cgroup file system
 * mounted from its hierarchy's root (any hierarchy will do: the lock is global), or null when
 * none is mounted.
 */
export function ownCgroupProcsFile(procfs = '/proc'): string | null {
  let cgroups: string;
  let mountinfo: string;
  try {
    cgroups = readFileSync(join(procfs, 'self/cgroup'), 'utf8');
    mountinfo = readFileSync(join(procfs, 'self/mountinfo'), 'utf8');
  } catch {
    return null;
  }
  // hierarchy key (controllers, or '' for cgroup2) → this process's path in it
  const own = new Map<string, string>();
  for (const line of cgroups.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    const root = unescape(fields[3] ?? '');
    const mountpoint = unescape(fields[4] ?? '');
    if (root !== '/' || (fields[5] ?? '').split(',').includes('ro')) continue;
    let key: string | undefined;
    if (fstype === 'cgroup2') key = '';
    else if (fstype === 'cgroup') key = hierarchyKey(superOptions, own);
    const path = key === undefined ? undefined : own.get(key);
    if (path !== undefined) return join(mountpoint, path, 'cgroup.procs');
  }
  return null;
}

// The /proc/self/cgroup key of a v1 mount: its controllers and name= option, in the kernel's order.
function hierarchyKey(superOptions: string, own: Map<string, string>): string | undefined {
  const options = new Set(superOptions.split(','));
  for (const key of own.keys()) {
    if (key !== '' && key.split(',').every((part) => options.has(part))) return key;
  }
  return undefined;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
