import { closeSync, statSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { sealedCopy } from '@berth/sys';

/**
 * Why this exists: runc and crun copy their own binary into a sealed memfd and re-execute the
 * copy at every invocation (their defence against CVE-2019-5736, a container overwriting the
 * host binary through /proc/self/exe), about 1.5–2.5 ms of each create, start and delete here.
 * They skip that when they already run from a memfd sealed the same way. So this process makes
 * the copy once per binary (@berth/sys `sealedCopy`) and runs the runtime from it; the copy
 * can no more be changed than their own.
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
 * The path to execute `binary` (absolute) by: `/proc/<this pid>/fd/<n>`, a sealed copy held
 * open by this process, or `binary` itself where no copy can be made (no @berth/sys addon, no
 * memfd, an unreadable file), which is then not tried again until the file changes.
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
  const retired = held?.fd;
  if (retired !== undefined) setTimeout(() => closeSync(retired), RETIRE_MS).unref();
  let copy: Copy;
  try {
    const fd = sealedCopy(binary, `berth-sealed:${basename(binary)}`);
    copy = { stat, fd, path: `/proc/${process.pid}/fd/${fd}` };
  } catch {
    copy = { stat, path: binary };
  }
  copies.set(binary, copy);
  return copy.path;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
