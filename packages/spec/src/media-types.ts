/** OCI image-spec media types. */
export const MediaType = {
  OciDescriptor: 'application/vnd.oci.descriptor.v1+json',
  OciLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  /** Docker image manifest v2, schema 2. */
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  /** Docker manifest list (the multi-platform index). */
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Docker schema 1: recognised so it can be refused with a clear error. */
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type MediaType = (typeof MediaType)[keyof typeof MediaType];

/** How a layer blob is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

const layerCompression: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MediaType.OciLayer, 'none'],
  [MediaType.OciLayerGzip, 'gzip'],
  [MediaType.OciLayerZstd, 'zstd'],
  [MediaType.OciLayerNonDistributable, 'none'],
  [MediaType.OciLayerNonDistributableGzip, 'gzip'],
  [MediaType.OciLayerNonDistributableZstd, 'zstd'],
  [MediaType.DockerLayerGzip, 'gzip'],
  [MediaType.DockerLayerForeignGzip, 'gzip'],
  // Docker's uncompressed layer type, seen in docker-archive manifests written by some tools.
  ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
]);

/** True for an image index or Docker manifest list. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/** True for an OCI image manifest or a Docker schema 2 manifest. */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}

/** True for an OCI or Docker image config. */
export function isConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciConfig || mediaType === MediaType.DockerConfig;
}

/** True for a layer media type berth can apply. */
export function isLayerMediaType(mediaType: string): boolean {
  return layerCompression.has(mediaType);
}

/** The compression of a layer media type, or undefined when it is not a layer type. */
export function compressionOf(mediaType: string): Compression | undefined {
  return layerCompression.get(mediaType);
}
