import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { sealedCopy } from '@berth/sys';

/**
 * Why this exists: runc and crun copy their own binary into a sealed memfd and re-execute the
 * copy at every invocation (their defence against CVE-2019-5736, a container overwriting the
 * host binary through /proc/self/exe), about 1.5–2.5 ms of each create, start and delete here.
 * They skip that when they already run from a memfd sealed the same way. So this process makes
 * the copy once per binary (@berth/sys `sealedCopy`) and runs the runtime from it, as
 * `/proc/<this pid>/fd/<n>`; the copy can no more be changed than their own. Nothing is
 * written to any file system. @berth/sys's spawn and berth-hide-unified execute such a path by
 * descriptor, so the runtime's processes are named `memfd:crun` in `ps` (by the fd path they
 * would be `<n>`); their argv[0] is still the binary's path.
 *
 * Only ELF programs are copied: a script run from a memfd would need its fd open in the
 * interpreter. The copy is made again when the file on disk changes (a package upgrade),
 * checked by a stat per call; the old copy stays open a minute for the calls already started
 * from it (a wrapper execs the path a few ms after it was handed out), so its fd number cannot
 * be reused meanwhile.
 */

interface Copy {
  stat: Stats;
  /** The memfd; none when no copy was made (`path` is then the binary). */
  fd?: number;
  path: string;
}

const copies = new Map<string, Copy>();

/** How long a replaced copy stays open. */
const RETIRE_MS = 60_000;

/**
 * The path to execute `binary` (absolute) by: a sealed copy held open by this process, or
 * `binary` itself where no copy is made (not an ELF file, no @berth/sys addon, no executable
 * memfd: `vm.memfd_noexec = 2`), which is then not tried again until the file changes.
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
  let copy: Copy = { stat, path: binary };
  if (isElf(binary)) {
    try {
      const fd = sealedCopy(binary, basename(binary));
      copy = { stat, fd, path: `/proc/${process.pid}/fd/${fd}` };
    } catch {
      // run the binary itself
    }
  }
  copies.set(binary, copy);
  return copy.path;
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

function isElf(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(ELF_MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function retire(fd: number): void {
  setTimeout(() => closeSync(fd), RETIRE_MS).unref();
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
