/**
 * `@berth/snapshots/mount`: the mount helpers and the Mount type alone, for processes that mount
 * what a snapshotter returned but never open its metadata (the shim): importing this does not
 * load SQLite.
 */
export { mountAll, unmountAll, withMounts } from './mount';
export type { Mount } from './types';
