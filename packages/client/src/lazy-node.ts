import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ChildProcess from 'node:child_process';
import type * as Crypto from 'node:crypto';
import type * as Zlib from 'node:zlib';

/**
 * Node modules loaded on first use instead of when @berth/client is: `berth run` needs none of
 * them, and loading them would cost it ~5 ms (node:crypto ~3.4, child_process ~1.1, zlib ~0.8 on
 * the 2-core VM). Digests: @berth/spec's `createDigester` (which loads crypto lazily too).
 */
const load = createRequire(import.meta.url);
let crypto: typeof Crypto | undefined;
let childProcess: typeof ChildProcess | undefined;
let zlib: typeof Zlib | undefined;

export const lazy = {
  get crypto(): typeof Crypto {
    return (crypto ??= load('node:crypto') as typeof Crypto);
  },
  get childProcess(): typeof ChildProcess {
    return (childProcess ??= load('node:child_process') as typeof ChildProcess);
  },
  get zlib(): typeof Zlib {
    return (zlib ??= load('node:zlib') as typeof Zlib);
  },
};

/**
 * `bytes` random bytes from the kernel's generator (/dev/urandom, what `crypto.randomBytes`
 * draws from too), as hex: ids without loading node:crypto.
 */
export function randomHex(bytes: number): string {
  const buf = Buffer.allocUnsafe(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let at = 0; at < bytes; ) at += readSync(fd, buf, at, bytes - at, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
