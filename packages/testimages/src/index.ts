export { buildImage } from './build';
export { testImage, cacheRoot } from './cache';
export { expectedTree, applyLayers } from './expected-tree';
export { writeRootfs } from './write-rootfs';
export type { ExpectedNode, ExpectedTree } from './expected-tree';
export { imageReference } from './oci-archive';
export { BUSYBOX_PATH, BUSYBOX_APPLETS } from './busybox';
export { BIG_FILE_SIZE } from './layers';
export { LARGE_LAYER_COUNT } from './large';
export { FIXED_MTIME } from './tar-writer';
export type {
  ArchiveFormat,
  BuiltImage,
  Content,
  EntryType,
  ImageName,
  LayerDefinition,
  LayerEntry,
} from './types';
