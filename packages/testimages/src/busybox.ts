import { readFile } from 'node:fs/promises';
import { digestOf } from '@berth/spec';
import { bytesContent } from './content';
import { elfArchitecture } from './platform';
import type { ImageDefinition, LayerEntry } from './types';

/** Where Debian's busybox-static installs the binary the busybox image is built around. */
export const BUSYBOX_PATH = '/bin/busybox';

/** The PATH every test image sets, as Docker's official images do. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The applets linked in /bin. Symlinks rather than hard links: `bin/[` sorts before
 * `bin/busybox`, and a tar hard link must follow its target; symlinks have no ordering
 * constraint and are what Debian's and Alpine's busybox installs use.
 */
export const BUSYBOX_APPLETS: readonly string[] = [
  '[', '[[', 'awk', 'basename', 'cat', 'chgrp', 'chmod', 'chown', 'cp', 'cut', 'date', 'dd', 'df',
  'dirname', 'du', 'echo', 'env', 'expr', 'false', 'find', 'grep', 'head', 'hostname', 'id', 'kill',
  'ln', 'ls', 'mkdir', 'mktemp', 'mount', 'mv', 'nproc', 'printf', 'ps', 'pwd', 'readlink', 'rm',
  'rmdir', 'sed', 'seq', 'sh', 'sleep', 'sort', 'stat', 'tail', 'tee', 'test', 'timeout', 'top',
  'touch', 'tr', 'true', 'umount', 'uname', 'uniq', 'vi', 'wc', 'which', 'whoami', 'xargs', 'yes',
];

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'user:x:1000:1000:user:/home/user:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

// `user` is also in `staff`, so tests can check supplementary groups (additionalGids).
const group = ['root:x:0:', 'staff:x:50:user', 'user:x:1000:', 'nobody:x:65534:', ''].join('\n');

/**
 * The `busybox` image: a single gzip layer holding /bin/busybox, its applet links, the usual
 * top-level directories and an /etc/passwd and /etc/group with root, `user` (1000:1000, also in
 * `staff` 50) and `nobody` (65534). Its architecture is read from the binary, so the image is
 * the same wherever the same binary is found. Throws if the binary is missing.
 */
export async function busyboxImage(binaryPath: string = BUSYBOX_PATH): Promise<ImageDefinition> {
  const binary = await readFile(binaryPath);
  const dir = (path: string, mode = 0o755, uid = 0, gid = 0): LayerEntry => ({ path, type: 'directory', mode, uid, gid });
  const entries: LayerEntry[] = [
    dir('bin'),
    dir('dev'),
    dir('etc'),
    dir('home'),
    dir('home/user', 0o755, 1000, 1000),
    dir('proc', 0o555),
    dir('root', 0o700),
    dir('sys', 0o555),
    dir('tmp', 0o1777),
    dir('usr'),
    dir('usr/bin'),
    dir('var'),
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: bytesContent(binary) },
    ...BUSYBOX_APPLETS.map((applet): LayerEntry => ({ path: `bin/${applet}`, type: 'symlink', mode: 0o777, linkname: 'busybox' })),
    // For `#!/usr/bin/env` scripts; a relative target that climbs out of /usr/bin.
    { path: 'usr/bin/env', type: 'symlink', mode: 0o777, linkname: '../../bin/busybox' },
    { path: 'etc/passwd', type: 'file', mode: 0o644, content: bytesContent(passwd) },
    { path: 'etc/group', type: 'file', mode: 0o644, content: bytesContent(group) },
  ];
  return {
    name: 'busybox',
    architecture: await elfArchitecture(binaryPath),
    os: 'linux',
    config: { Cmd: ['sh'], Env: [DEFAULT_PATH], WorkingDir: '/' },
    layers: [{ createdBy: 'berth-testimages: busybox-static with applet links', compression: 'gzip', entries }],
    cacheInputs: `busybox ${digestOf(binary)}`,
  };
}
