import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon, relative to @berth/sys's directory. */
const ADDON = join('build', 'Release', 'berth_sys.node');

/** S_IFIFO: the file type bits mknod(2) takes for a FIFO. */
const S_IFIFO = 0o010000;

let loaded: ((path: string, mode: number) => void) | null | undefined;

/**
 * mkfifo through @berth/sys's addon (mknod(2)), for `FifoSet.make`: making the FIFOs of a
 * foreground `run` in-process instead of forking `mkfifo`. The addon is loaded straight from
 * its build output, since this CLI is one CommonJS file and @berth/sys's module is ESM. When it
 * is not there (the CLI installed without the engine's packages), undefined: `mkfifo` runs.
 */
export function nativeMkfifo(): ((path: string, mode: number) => void) | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  try {
    const require = createRequire(import.meta.url);
    // Beside this package, as npm installs @berth/sys (and as the monorepo has it): no module
    // resolution (~2.5 ms) unless it is somewhere else.
    const beside = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sys', ADDON);
    const addon = existsSync(beside) ? beside : join(dirname(require.resolve('@berth/sys/package.json')), ADDON);
    const binding = require(addon) as { mknod(path: string, mode: number, dev: number): void };
    loaded = (path, mode) => binding.mknod(path, S_IFIFO | mode, 0);
  } catch {
    loaded = null;
  }
  return loaded ?? undefined;
}
