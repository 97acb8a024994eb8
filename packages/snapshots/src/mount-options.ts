import { notImplemented } from '@berth/errdefs';
import { MountFlags } from './sys';

/** A `Mount`'s option strings split the way mount(2) wants them. */
export interface ParsedMountOptions {
  /** MS_* flags for the mount itself (no propagation flags). */
  flags: number;
  /** MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE, with MS_REC for the `r` forms; 0 for none. */
  propagation: number;
  /** Everything mount(2) does not know as a flag, for the file system (`size=64m`, `mode=755`). */
  data: string[];
}

const F = MountFlags;

/** Option → [clear, flag]: `clear` options remove the flag (`rw` clears MS_RDONLY). */
const flagOptions: Readonly<Record<string, readonly [boolean, number]>> = {
  async: [true, F.SYNCHRONOUS],
  atime: [true, F.NOATIME],
  bind: [false, F.BIND],
  defaults: [false, 0],
  dev: [true, F.NODEV],
  diratime: [true, F.NODIRATIME],
  dirsync: [false, F.DIRSYNC],
  exec: [true, F.NOEXEC],
  mand: [false, F.MANDLOCK],
  noatime: [false, F.NOATIME],
  nodev: [false, F.NODEV],
  nodiratime: [false, F.NODIRATIME],
  noexec: [false, F.NOEXEC],
  nomand: [true, F.MANDLOCK],
  norelatime: [true, F.RELATIME],
  nostrictatime: [true, F.STRICTATIME],
  nosuid: [false, F.NOSUID],
  nosymfollow: [false, F.NOSYMFOLLOW],
  rbind: [false, F.BIND | F.REC],
  relatime: [false, F.RELATIME],
  remount: [false, F.REMOUNT],
  ro: [false, F.RDONLY],
  rw: [true, F.RDONLY],
  strictatime: [false, F.STRICTATIME],
  suid: [true, F.NOSUID],
  symfollow: [true, F.NOSYMFOLLOW],
  sync: [false, F.SYNCHRONOUS],
};

const propagationOptions: Readonly<Record<string, number>> = {
  private: F.PRIVATE,
  rprivate: F.PRIVATE | F.REC,
  shared: F.SHARED,
  rshared: F.SHARED | F.REC,
  slave: F.SLAVE,
  rslave: F.SLAVE | F.REC,
  unbindable: F.UNBINDABLE,
  runbindable: F.UNBINDABLE | F.REC,
};

/**
 * Parses `mount -o` style options the way containerd's Linux mount does: known flag names
 * become MS_* flags (later options win, `rw` after `ro` clears MS_RDONLY), propagation names
 * become a separate propagation change, and the rest is file-system data passed through in
 * order. `loop` (a loop device) is not supported: NotImplemented.
 */
export function parseMountOptions(options: readonly string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options) {
    const known = flagOptions[o];
    if (known) {
      const [clear, flag] = known;
      flags = clear ? flags & ~flag : flags | flag;
    } else if (propagationOptions[o] !== undefined) {
      propagation = propagationOptions[o]!;
    } else if (o === 'loop') {
      throw notImplemented('mount option "loop": loop devices are not supported');
    } else if (o !== '') {
      data.push(o);
    }
  }
  return { flags, propagation, data };
}

/**
 * Splits overlay options into the layer directories and the rest. `lowerdir` is a
 * colon-separated list, top first; escaped colons (`\:`) stay in the path.
 */
export function parseOverlayOptions(data: readonly string[]): {
  lowerdirs: string[];
  upperdir?: string;
  workdir?: string;
  rest: string[];
} {
  let lowerdirs: string[] = [];
  let upperdir: string | undefined;
  let workdir: string | undefined;
  const rest: string[] = [];
  for (const o of data) {
    if (o.startsWith('lowerdir=')) {
      lowerdirs = o
        .slice('lowerdir='.length)
        .split(/(?<!\\):/)
        .filter((d) => d !== '')
        .map((d) => d.replace(/\\:/g, ':'));
    } else if (o.startsWith('upperdir=')) upperdir = o.slice('upperdir='.length);
    else if (o.startsWith('workdir=')) workdir = o.slice('workdir='.length);
    else rest.push(o);
  }
  const parsed: ReturnType<typeof parseOverlayOptions> = { lowerdirs, rest };
  if (upperdir !== undefined) parsed.upperdir = upperdir;
  if (workdir !== undefined) parsed.workdir = workdir;
  return parsed;
}
