import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Why this exists: moving a process into a cgroup (a write to `cgroup.procs`, which runc does
 * for every container's init and exec on every cgroup layout, and crun on v1 and hybrid hosts)
 * takes the kernel's `cgroup_threadgroup_rwsem` for writing. That lock is a per-CPU rwsem: a
 * writer that finds it in its fast mode first waits a whole RCU grace period to switch it over,
 * 7–25 ms on the 2-core VM this was measured on, more than half of a `crun create`. The lock
 * stays switched until one grace period after the last writer, so a writer that comes while
 * another is waiting shares its wait, and one that comes shortly after waits for nothing.
 *
 * So a runtime call that is about to attach a process starts, at the same time, a migration
 * that changes nothing: this process into the cgroup it is already in. Its grace period runs
 * while the runtime starts up, reads its config and clones the container, and the runtime's
 * own attach then finds the lock switched. Where nothing waits (a runtime that places its init
 * with clone3's CLONE_INTO_CGROUP, which takes the lock only for reading; a host mounted with
 * `favordynmods`), the prime is one write that costs microseconds.
 *
 * The write is best-effort and never moves this process: its cgroup is read again before each
 * write, a path it cannot name safely (outside a cgroup namespace's root, a removed cgroup) is
 * skipped, and a failed write turns the primer off for the life of the process.
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
  let mounts: CgroupMount[] | undefined;
  let off = false;
  let inFlight: Promise<void> | undefined;
  return {
    prime() {
      if (inFlight) return inFlight;
      if (off) return Promise.resolve();
      mounts ??= cgroupMounts(procfs);
      const target = procsFileIn(mounts, readOwn(procfs));
      if (target === null) return Promise.resolve();
      inFlight = writeFile(target, '0', { flag: 'r+' }).then(
        () => {
          inFlight = undefined;
        },
        () => {
          off = true;
          inFlight = undefined;
        },
      );
      return inFlight;
    },
  };
}

/**
 * The `cgroup.procs` file of the cgroup this process is in, on the first writable cgroup file
 * system mounted from its hierarchy's root (any hierarchy will do: the lock is global), or null
 * when there is none or the path cannot be trusted.
 */
export function ownCgroupProcsFile(procfs = '/proc'): string | null {
  return procsFileIn(cgroupMounts(procfs), readOwn(procfs));
}

/** A cgroup file system mounted from its root: its /proc/self/cgroup key and where. */
interface CgroupMount {
  /** '' for cgroup2; for v1 its controllers and name= option, as the mount's super options list them. */
  options: Set<string>;
  v2: boolean;
  mountpoint: string;
}

function cgroupMounts(procfs: string): CgroupMount[] {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(join(procfs, 'self/mountinfo'), 'utf8');
  } catch {
    return [];
  }
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    if (unescape(fields[3] ?? '') !== '/' || (fields[5] ?? '').split(',').includes('ro')) continue;
    out.push({ options: new Set(superOptions.split(',')), v2: fstype === 'cgroup2', mountpoint: unescape(fields[4] ?? '') });
  }
  return out;
}

/** /proc/self/cgroup: hierarchy key (controllers, or '' for cgroup2) → this process's path in it. */
function readOwn(procfs: string): Map<string, string> {
  const own = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(join(procfs, 'self/cgroup'), 'utf8');
  } catch {
    return own;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  return own;
}

function procsFileIn(mounts: CgroupMount[], own: Map<string, string>): string | null {
  for (const mount of mounts) {
    const key = mount.v2 ? '' : [...own.keys()].find((k) => k !== '' && k.split(',').every((part) => mount.options.has(part)));
    const path = key === undefined ? undefined : own.get(key);
    // Outside a cgroup namespace's root the path starts with /..; a removed cgroup v2 ends in " (deleted)".
    if (path === undefined || path.split('/').includes('..') || path.endsWith(' (deleted)')) continue;
    return join(mount.mountpoint, path, 'cgroup.procs');
  }
  return null;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
