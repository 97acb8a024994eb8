import { DEFAULT_PATH } from './busybox';
import { bytesContent, prngContent } from './content';
import { hostArchitecture } from './platform';
import { FIXED_MTIME } from './tar-writer';
import type { ImageDefinition, LayerDefinition, LayerEntry } from './types';

/** Size of /data/big.bin in the `layers` image: 32 MiB. */
export const BIG_FILE_SIZE = 32 * 1024 * 1024;

const DAY = 86400;

type Attrs = Partial<Pick<LayerEntry, 'uid' | 'gid' | 'mtime' | 'xattrs'>>;
const dir = (path: string, mode = 0o755, attrs: Attrs = {}): LayerEntry => ({ path, type: 'directory', mode, ...attrs });
const file = (path: string, text: string, mode = 0o644, attrs: Attrs = {}): LayerEntry => ({
  path, type: 'file', mode, content: bytesContent(text), ...attrs,
});
const symlink = (path: string, target: string): LayerEntry => ({ path, type: 'symlink', mode: 0o777, linkname: target });
const hardlink = (path: string, target: string): LayerEntry => ({ path, type: 'hardlink', mode: 0o755, linkname: target });
const whiteout = (dirPath: string, name: string): LayerEntry => file(`${dirPath}/.wh.${name}`, '', 0o644);
const opaque = (dirPath: string): LayerEntry => file(`${dirPath}/.wh..wh..opq`, '', 0o644);

/**
 * Layer 1 (gzip), the base: every path later layers change, plus the metadata cases that need
 * no later layer: setuid, setgid and sticky modes, non-root owners (1000, 65534), mtimes far
 * from the default (1970, 2033), an empty directory and a file carrying an xattr.
 */
const base: LayerDefinition = {
  createdBy: 'layers 1/4: base tree, modes, owners, mtimes, xattr',
  compression: 'gzip',
  entries: [
    dir('bin'),
    dir('data'),
    file('data/delete-me.txt', 'whited out by layer 2\n'),
    file('data/keep.txt', 'layer 1 version\n'),
    file('data/old.txt', 'mtime one second after the epoch\n', 0o644, { mtime: 1 }),
    file('data/future.txt', 'mtime in 2033\n', 0o644, { mtime: 2000000000 }),
    dir('etc'),
    file('etc/xattr.conf', 'carries user.berth=1\n', 0o644, { xattrs: { 'user.berth': '1' } }),
    dir('home'),
    dir('home/user', 0o700, { uid: 1000, gid: 1000 }),
    file('home/user/notes.txt', 'owned by 1000:1000\n', 0o600, { uid: 1000, gid: 1000, mtime: FIXED_MTIME + 3600 }),
    dir('opt'),
    dir('opt/app'),
    file('opt/app/config.txt', 'target of an absolute symlink\n'),
    dir('opt/app/data'),
    file('opt/app/data/old-a.txt', 'hidden by the opaque directory in layer 2\n'),
    file('opt/app/data/old-b.txt', 'hidden by the opaque directory in layer 2\n'),
    dir('opt/app/data/sub'),
    file('opt/app/data/sub/deep.txt', 'hidden by the opaque directory in layer 2\n'),
    dir('opt/legacy'),
    file('opt/legacy/file.txt', 'removed with its directory by a whiteout in layer 2\n'),
    dir('swap'),
    file('swap/thing', 'layer 1: a file\n'),
    dir('tmp', 0o1777),
    dir('usr'),
    dir('usr/bin'),
    file('usr/bin/setuid-tool', '#!/bin/sh\necho setuid\n', 0o4755),
    file('usr/bin/setgid-tool', '#!/bin/sh\necho setgid\n', 0o2755, { gid: 50 }),
    dir('var'),
    dir('var/empty'),
    dir('var/lib'),
    dir('var/lib/nobody', 0o700, { uid: 65534, gid: 65534 }),
    file('var/lib/nobody/state', 'owned by nobody\n', 0o600, { uid: 65534, gid: 65534 }),
    dir('var/shared', 0o3775, { gid: 1000 }),
  ],
};

/**
 * Layer 2 (gzip), deletions and links: a whiteout of a file and of a whole directory, an opaque
 * directory that keeps only this layer's entry, a file replaced by a directory, a hard link, and
 * symlinks with relative and absolute targets inside the image.
 */
const changes: LayerDefinition = {
  createdBy: 'layers 2/4: whiteouts, opaque dir, file to dir, hard link, symlinks',
  compression: 'gzip',
  entries: [
    dir('bin', 0o755, { mtime: FIXED_MTIME + 31 * DAY }),
    file('bin/tool', '#!/bin/sh\necho tool\n', 0o755, { mtime: FIXED_MTIME + 31 * DAY }),
    hardlink('bin/tool-hardlink', 'bin/tool'),
    symlink('bin/tool-relative', 'tool'),
    symlink('bin/tool-absolute', '/bin/tool'),
    whiteout('data', 'delete-me.txt'),
    symlink('etc/app-config', '/opt/app/config.txt'),
    dir('opt/app/data', 0o750),
    opaque('opt/app/data'),
    file('opt/app/data/new.txt', 'the only entry left in the opaque directory\n'),
    whiteout('opt', 'legacy'),
    dir('swap/thing'),
    file('swap/thing/inner.txt', 'layer 2: swap/thing is a directory\n'),
    symlink('usr/bin/tool', '../../bin/tool'),
  ],
};

/**
 * Layer 3, stored uncompressed (plain OCI tar media type): the directory from layer 2 becomes a
 * file again, and a file's content, mode, owner and mtime change.
 */
const uncompressed: LayerDefinition = {
  createdBy: 'layers 3/4: uncompressed; dir back to file, file rewritten',
  compression: 'none',
  entries: [
    file('data/keep.txt', 'layer 3 version\n', 0o640, { uid: 1000, gid: 1000, mtime: FIXED_MTIME + 60 * DAY }),
    file('home/user/.profile', 'export EDITOR=vi\n', 0o644, { uid: 1000, gid: 1000 }),
    file('swap/thing', 'layer 3: a file again\n', 0o600),
  ],
};

/** Layer 4 (gzip): one 32 MiB file of seeded pseudo-random text, to exercise streaming. */
const big: LayerDefinition = {
  createdBy: 'layers 4/4: 32 MiB pseudo-random file',
  compression: 'gzip',
  entries: [{ path: 'data/big.bin', type: 'file', mode: 0o644, mtime: FIXED_MTIME + 90 * DAY, content: prngContent(0x62657274, BIG_FILE_SIZE) }],
};

/**
 * The `layers` image: four synthetic layers (no busybox) covering the layer features an unpacker
 * must get right. Its bytes depend only on this file and the host architecture recorded in the
 * config. `expectedTree('layers')` gives the tree it must unpack to.
 */
export function layersImage(): ImageDefinition {
  return {
    name: 'layers',
    architecture: hostArchitecture(),
    os: 'linux',
    config: { Env: [DEFAULT_PATH], WorkingDir: '/', Labels: { 'org.opencontainers.image.title': 'berth layers test image' } },
    layers: [base, changes, uncompressed, big],
    cacheInputs: `layers ${hostArchitecture()}`,
  };
}
