/**
 * The one place this package imports `@berth/sys` (the mount/mknod/xattr addon, loaded on its
 * first call), so the rest of the code does not depend on how that package names its exports.
 */
import * as sys from '@berth/sys';

export { sys };
export { MountFlags, UnmountFlags, FileType } from '@berth/sys';
