import { closeSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sealedCopy } from '@berth/sys';

/**
 * Why this exists: runc and crun copy their own binary into a sealed memfd and re-execute the
 * copy at every invocation (their defence against CVE-2019-5736, a container overwriting the
 * host binary through /proc/self/exe), about 1.5–2.5 ms of each create, start and delete here.
 * They skip that when they already run from a memfd sealed the same way. So this process makes
 * the copy once per binary (@berth/sys `sealedCopy`) and runs the runtime from it; the copy
 * can no more be changed than their own.
 *
 * The copy is reached through a symlink named like the binary (`<private dir>/<n>/crun` →
 * `/proc/<this pid>/fd/<n>`): the kernel names a process after the last part of the path it
 * was executed by, so `ps` and `pgrep` still show `crun` (through the fd path it would be `<n>`).
 * The private dir (`berth-exe-<pid>-*`, 0700, under the temp dir) is removed when this process
 * exits, and by the next process that makes one if this one was killed.
 *
 * The copy is made again when the file on disk changes (a package upgrade), checked by a stat
 * per call; the old copy stays open a minute for the calls already started from it.
 */

interface Copy {
  stat: Stats;
  /** The memfd; none when the copy failed (`path` is then the binary). */
  fd?: number;
  path: string;
}

const copies = new Map<string, Copy>();

/** How long a replaced copy stays open (a wrapper may exec it a few ms after it was handed out). */
const RETIRE_MS = 60_000;

/**
 * The path to execute `binary` (absolute) by: a sealed copy held open by this process, or
 * `binary` itself where no copy can be made (no @berth/sys addon, no memfd, an unreadable file),
 * which is then not tried again until the file changes.
 */
export function sealedExecutable(binary: string): string {
  let stat: Stats;
  try {
    stat = statSync(binary);
  } catch {
    return binary;
  }
  const held = copies.get(binary);
  if (held && sameFile(held.stat, stat)) return held.path;
  if (held?.fd !== undefined) retire(held.fd);
  let copy: Copy;
  try {
    const fd = sealedCopy(binary, `berth-sealed:${basename(binary)}`);
    copy = { stat, fd, path: linkTo(fd, basename(binary)) };
  } catch {
    copy = { stat, path: binary };
  }
  copies.set(binary, copy);
  return copy.path;
}

let links: string | null | undefined;

/** `<private dir>/<fd>/<name>` → `/proc/<pid>/fd/<fd>`, or that fd path itself where no link can be made. */
function linkTo(fd: number, name: string): string {
  const target = `/proc/${process.pid}/fd/${fd}`;
  try {
    if (links === undefined) {
      removeDeadProcessesLinks();
      links = mkdtempSync(join(tmpdir(), `berth-exe-${process.pid}-`));
      const dir = links;
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    if (links === null) return target;
    mkdirSync(join(links, String(fd)), { mode: 0o700 });
    symlinkSync(target, join(links, String(fd), name));
    return join(links, String(fd), name);
  } catch {
    links ??= null;
    return target;
  }
}

/** The link dirs of processes that died without removing theirs (killed, crashed). */
function removeDeadProcessesLinks(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(/^berth-exe-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function retire(fd: number): void {
  setTimeout(() => {
    closeSync(fd);
    if (links) rmSync(join(links, String(fd)), { recursive: true, force: true });
  }, RETIRE_MS).unref();
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
