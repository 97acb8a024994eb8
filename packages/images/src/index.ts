// Image records
export { MemoryImageStore, createMemoryImageStore, validateImage, imageAdaptor, applyImageUpdate } from './image-store';
export type { Image, ImageStore, NewImage } from './types';

// Walking images
export { walk, walkImage, handlers, children, childrenHandler, filterPlatforms, limitManifests, errSkipDesc, errStopHandler } from './walk';
export type { Handler } from './walk';
export { resolveManifest, imageRootFS, imageSize, configPlatform, allPlatforms } from './manifest';
export type { ResolvedManifest } from './manifest';
export { readDocument, maxDocumentSize } from './read-document';

// Garbage-collection labels
export { gcLabelsFor, setBlobLabels, setChildrenLabels, snapshotGcLabel } from './gc-labels';

// Unpack
export { unpack, SnapshotRefLabel } from './unpack';
export type { UnpackOptions, UnpackResult } from './unpack';

// Archives
export { importArchive } from './import-archive';
export type { ImportOptions, ImportResult } from './import-archive';
export { exportArchive } from './export-archive';
export type { ExportOptions } from './export-archive';
export { DockerLayerTar } from './docker-archive';
export { AnnotationImageName, AnnotationRefName, ociReferenceName, refTranslator, defaultImportPrefix } from './names';
