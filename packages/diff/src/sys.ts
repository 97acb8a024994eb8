/**
 * The `@berth/sys` calls diff uses (device nodes, xattrs), re-exported with the few overlay
 * conventions built on them, so the rest of the package imports one narrow surface.
 */
export { lgetxattr, llistxattr, lsetxattr, major, makedev, minor, mknod } from '@berth/sys';

/** Overlay's whiteout: a character device 0/0. */
export function isWhiteoutDevice(st: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Overlay's opaque-directory xattr. */
export const opaqueXattr = 'trusted.overlay.opaque';

/** True when `code` is an errno meaning "the filesystem does not do xattrs (here)". */
export function isXattrUnsupported(code: unknown): boolean {
  return code === 'ENOTSUP' || code === 'EOPNOTSUPP';
}
