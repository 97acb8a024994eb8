import { describe, expect, it } from 'vitest';
import {
  MediaType,
  compressionOf,
  isConfigMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
} from './media-types';

describe('media type classes', () => {
  it.each<[string, 'index' | 'manifest' | 'config' | 'layer' | 'none']>([
    [MediaType.OciIndex, 'index'],
    [MediaType.DockerManifestList, 'index'],
    [MediaType.OciManifest, 'manifest'],
    [MediaType.DockerManifest, 'manifest'],
    [MediaType.DockerSchema1Manifest, 'none'],
    [MediaType.OciConfig, 'config'],
    [MediaType.DockerConfig, 'config'],
    [MediaType.OciLayerGzip, 'layer'],
    [MediaType.DockerLayerGzip, 'layer'],
    [MediaType.OciEmpty, 'none'],
    ['application/json', 'none'],
  ])('%s is %s', (mediaType, kind) => {
    expect(isIndexMediaType(mediaType)).toBe(kind === 'index');
    expect(isManifestMediaType(mediaType)).toBe(kind === 'manifest');
    expect(isConfigMediaType(mediaType)).toBe(kind === 'config');
    expect(isLayerMediaType(mediaType)).toBe(kind === 'layer');
  });

  it.each([
    [MediaType.OciLayer, 'none'],
    [MediaType.OciLayerGzip, 'gzip'],
    [MediaType.OciLayerZstd, 'zstd'],
    [MediaType.OciLayerNonDistributableZstd, 'zstd'],
    [MediaType.DockerLayerGzip, 'gzip'],
    [MediaType.DockerLayerForeignGzip, 'gzip'],
    ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
    [MediaType.OciManifest, undefined],
  ])('compression of %s is %s', (mediaType, compression) => {
    expect(compressionOf(mediaType)).toBe(compression);
  });
});
