export type {
  Snapshotter,
  Kind,
  Info,
  Usage,
  Mount,
  PrepareOptions,
  CommitOptions,
  WalkFunc,
} from './types';

export { OverlaySnapshotter, createOverlaySnapshotter } from './overlay-snapshotter';
export type { OverlaySnapshotterOptions } from './overlay-snapshotter';
export { NativeSnapshotter, createNativeSnapshotter } from './native-snapshotter';
export type { NativeSnapshotterOptions } from './native-snapshotter';
export { LocalSnapshotter } from './local-snapshotter';

export { mountAll, unmountAll, withMounts } from './mount';
export { parseMountOptions } from './mount-options';
export type { ParsedMountOptions } from './mount-options';
export { diskUsage } from './disk-usage';
