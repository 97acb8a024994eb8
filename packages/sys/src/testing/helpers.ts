import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const isRoot = process.getuid?.() === 0;
/** Why root-only tests are skipped otherwise. */
export const ROOT_REASON = '(needs root: mount, mknod of devices and trusted.* xattrs need CAP_SYS_ADMIN/CAP_MKNOD)';

export const ADDON = fileURLToPath(new URL('../../build/Release/berth_sys.node', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('.', import.meta.url));

/** Decodes the octal escapes (\040 etc.) mountinfo uses in paths. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  mountPoint: string;
  options: string;
  fstype: string;
  source: string;
  superOptions: string;
}

export function mountinfo(): MountEntry[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      const sep = f.indexOf('-');
      return {
        mountPoint: unescapeMountinfo(f[4]!),
        options: f[5]!,
        fstype: f[sep + 1]!,
        source: unescapeMountinfo(f[sep + 2]!),
        superOptions: f[sep + 3] ?? '',
      };
    });
}

export function mountsUnder(dir: string): MountEntry[] {
  return mountinfo().filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + '/'));
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `berth-sys-${prefix}-`));
}
