import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Default directory of shim sockets (short, for the 108-byte unix socket path limit). */
export const DEFAULT_SOCKET_DIR = '/run/berth/s';
/** Default runtime state dir; one subdirectory per runtime flavor is made below it. */
export const DEFAULT_RUNTIME_ROOT = '/run/berth/runtime';

/**
 * The socket of the shim serving `group` (containers with one group share a shim, as a pod's
 * containers share one under containerd): `<socketDir>/<sha256(group) prefix>.sock`.
 */
export function shimSocketPath(socketDir: string, group: string): string {
  return join(socketDir, `${createHash('sha256').update(group).digest('hex').slice(0, 32)}.sock`);
}

/** The socket path of an address (`unix:///path` or a bare path). */
export function socketPathOf(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/** The shim socket recorded in a bundle by Create (`<bundle>/address`), or undefined. */
export function bundleAddress(bundle: string): string | undefined {
  try {
    return readFileSync(join(bundle, 'address'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The built `berth-shim` command (dist/cli.js of this package), found from this module's location. */
export function shimCliPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@berth/shim') {
      return join(dir, 'dist', 'cli.js');
    }
    dir = dirname(dir);
  }
  throw new Error('@berth/shim: cannot find the package root to locate dist/cli.js');
}
