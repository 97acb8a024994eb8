import { ErrorKind, isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { digestOf } from './digest';
import { MediaType } from './media-types';
import { parseDescriptor } from './validate-descriptor';
import { parseImageConfig } from './validate-config';
import { parseIndex, parseManifest } from './validate-manifest';

const d = (s: string) => digestOf(s);
const layer = (i: number) => ({ mediaType: MediaType.OciLayerGzip, digest: d(`layer${i}`), size: 100 + i });
const manifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: d('config'), size: 7 },
  layers: [layer(0), layer(1), layer(2)],
  annotations: { 'org.opencontainers.image.title': 'x' },
});
const index = () => ({
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    { mediaType: MediaType.OciManifest, digest: d('m0'), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.OciManifest, digest: d('m1'), size: 501, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
});
const config = () => ({
  created: '2024-01-01T00:00:00Z',
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} }, Volumes: null },
  rootfs: { type: 'layers', diff_ids: [d('diff0'), d('diff1')] },
  history: [{ created_by: 'ADD rootfs' }, { created_by: 'CMD', empty_layer: true }],
});

type Json = Record<string, unknown>;
/** Deep-sets `path` (dotted, numeric parts index arrays) in a copy of `doc`; `undefined` deletes. */
function patch(doc: Json, path: string, value: unknown): string {
  const copy = structuredClone(doc);
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return JSON.stringify(copy);
}

function invalid(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isInvalidArgument(err)).toBe(true);
    return err as Error;
  }
  throw new Error('expected InvalidArgument, nothing thrown');
}

describe('parseManifest', () => {
  it('accepts an OCI manifest, from a string or bytes, and keeps it intact', () => {
    const doc = manifest();
    expect(parseManifest(JSON.stringify(doc))).toEqual(doc);
    expect(parseManifest(new TextEncoder().encode(JSON.stringify(doc)), MediaType.OciManifest)).toEqual(doc);
  });

  it('accepts a Docker schema 2 manifest', () => {
    const oci = manifest();
    const doc = {
      ...oci,
      mediaType: MediaType.DockerManifest,
      config: { ...oci.config, mediaType: MediaType.DockerConfig },
      layers: oci.layers.map((l) => ({ ...l, mediaType: MediaType.DockerLayerGzip })),
    };
    expect(parseManifest(JSON.stringify(doc), MediaType.DockerManifest).layers).toHaveLength(3);
  });

  it('accepts a manifest without its own mediaType field when the caller names the type', () => {
    expect(parseManifest(patch(manifest(), 'mediaType', undefined), MediaType.OciManifest).config.size).toBe(7);
  });

  // [what, path to change, new value, field the message must name]
  it.each<[string, string, unknown, string]>([
    ['bad layer digest', 'layers.2.digest', 'sha256:zz', 'layers[2].digest'],
    ['md5 layer digest', 'layers.0.digest', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'layers[0].digest'],
    ['negative size', 'layers.1.size', -1, 'layers[1].size'],
    ['fractional size', 'layers.1.size', 1.5, 'layers[1].size'],
    ['unsafe size', 'layers.1.size', 2 ** 53, 'layers[1].size'],
    ['string size', 'config.size', '7', 'config.size'],
    ['missing size', 'config.size', undefined, 'config.size'],
    ['missing mediaType', 'layers.0.mediaType', undefined, 'layers[0].mediaType'],
    ['empty mediaType', 'layers.0.mediaType', '', 'layers[0].mediaType'],
    ['numeric mediaType', 'layers.0.mediaType', 3, 'layers[0].mediaType'],
    ['missing config', 'config', undefined, 'config'],
    ['config not an object', 'config', [], 'config'],
    ['layers not an array', 'layers', {}, 'layers'],
    ['missing layers', 'layers', undefined, 'layers'],
    ['layer not an object', 'layers.1', 'x', 'layers[1]'],
    ['urls not strings', 'layers.0.urls', [1], 'layers[0].urls[0]'],
    ['url not a URL', 'layers.0.urls', ['not a url'], 'layers[0].urls[0]'],
    ['annotation not a string', 'annotations', { a: 1 }, 'annotations.a'],
    ['layer annotation not a string', 'layers.0.annotations', { k: true }, 'layers[0].annotations.k'],
    ['schemaVersion 3', 'schemaVersion', 3, 'schemaVersion'],
    ['missing schemaVersion', 'schemaVersion', undefined, 'schemaVersion'],
    ['an index media type', 'mediaType', MediaType.OciIndex, 'mediaType'],
    ['a manifests field', 'manifests', [], 'manifests'],
    ['platform without os', 'config.platform', { architecture: 'amd64' }, 'config.platform.os'],
    ['subject with a bad digest', 'subject', { mediaType: MediaType.OciManifest, digest: 'sha256:1', size: 1 }, 'subject.digest'],
  ])('refuses %s, naming %s', (_, path, value, field) => {
    const err = invalid(() => parseManifest(patch(manifest(), path, value)));
    expect(err.message.startsWith(`manifest: ${field}: `)).toBe(true);
  });

  it('refuses a media type of another kind or a mismatch with the document', () => {
    invalid(() => parseManifest(JSON.stringify(manifest()), MediaType.OciIndex));
    invalid(() => parseManifest(JSON.stringify(manifest()), 'application/json'));
    invalid(() => parseManifest(JSON.stringify(manifest()), MediaType.DockerManifest));
  });

  it('refuses Docker schema 1, by media type or by document', () => {
    invalid(() => parseManifest('{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}'));
    invalid(() => parseManifest(JSON.stringify(manifest()), MediaType.DockerSchema1Manifest));
    invalid(() => parseManifest(JSON.stringify(manifest()), 'application/vnd.docker.distribution.manifest.v1+json'));
  });

  it.each([
    ['malformed JSON', '{"schemaVersion":2,'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
  ])('refuses %s', (_, input) => {
    invalid(() => parseManifest(input));
  });
});

describe('parseIndex', () => {
  it('accepts an OCI index and a Docker manifest list', () => {
    expect(parseIndex(JSON.stringify(index())).manifests).toHaveLength(2);
    const list = { ...index(), mediaType: MediaType.DockerManifestList };
    expect(parseIndex(JSON.stringify(list), MediaType.DockerManifestList).manifests[1]?.platform?.variant).toBe('v8');
    expect(parseIndex(patch(index(), 'mediaType', undefined), MediaType.DockerManifestList).manifests).toHaveLength(2);
  });

  it.each<[string, string, unknown, string]>([
    ['negative size', 'manifests.0.size', -5, 'manifests[0].size'],
    ['bad digest', 'manifests.1.digest', 'sha256:zz', 'manifests[1].digest'],
    ['platform without architecture', 'manifests.1.platform', { os: 'linux' }, 'manifests[1].platform.architecture'],
    ['os.features not strings', 'manifests.1.platform.os.features', [1], 'manifests[1].platform.os.features[0]'],
    ['missing manifests', 'manifests', undefined, 'manifests'],
    ['a config field', 'config', {}, 'config'],
    ['a layers field', 'layers', [], 'layers'],
    ['a manifest media type', 'mediaType', MediaType.OciManifest, 'mediaType'],
  ])('refuses %s, naming %s', (_, path, value, field) => {
    // `os.features` is one key with a dot; patch it by hand
    const doc =
      path === 'manifests.1.platform.os.features'
        ? JSON.stringify({ ...index(), manifests: [index().manifests[0], { ...index().manifests[1], platform: { os: 'linux', architecture: 'arm64', 'os.features': value } }] })
        : patch(index(), path, value);
    const err = invalid(() => parseIndex(doc));
    expect(err.message.startsWith(`index: ${field}: `)).toBe(true);
  });

  it('refuses a manifest media type from the caller', () => {
    invalid(() => parseIndex(JSON.stringify(index()), MediaType.OciManifest));
  });
});

describe('parseImageConfig', () => {
  it('accepts a config and treats Docker nulls as absent', () => {
    const parsed = parseImageConfig(JSON.stringify(config()), MediaType.DockerConfig);
    expect(parsed.rootfs.diff_ids).toEqual([d('diff0'), d('diff1')]);
    expect(parsed.config?.Cmd).toEqual(['sh']);
    expect(parsed.config && 'Entrypoint' in parsed.config).toBe(false);
    expect(parsed.history?.[1]?.empty_layer).toBe(true);
  });

  it('gives a config without diff_ids an empty list', () => {
    expect(parseImageConfig(patch(config(), 'rootfs', { type: 'layers' })).rootfs.diff_ids).toEqual([]);
  });

  it.each<[string, string, unknown, string]>([
    ['bad diffID', 'rootfs.diff_ids', [d('x'), 'sha256:zz'], 'rootfs.diff_ids[1]'],
    ['wrong rootfs type', 'rootfs.type', 'tarball', 'rootfs.type'],
    ['missing rootfs', 'rootfs', undefined, 'rootfs'],
    ['missing os', 'os', undefined, 'os'],
    ['empty architecture', 'architecture', '', 'architecture'],
    ['Env not strings', 'config.Env', ['A=1', 2], 'config.Env[1]'],
    ['Cmd a string', 'config.Cmd', 'sh', 'config.Cmd'],
    ['label not a string', 'config.Labels', { a: 1 }, 'config.Labels.a'],
    ['exposed port not an object', 'config.ExposedPorts', { '80/tcp': true }, 'config.ExposedPorts.80/tcp'],
    ['history entry not an object', 'history', ['x'], 'history[0]'],
    ['empty_layer not a boolean', 'history', [{ empty_layer: 'yes' }], 'history[0].empty_layer'],
  ])('refuses %s, naming %s', (_, path, value, field) => {
    const err = invalid(() => parseImageConfig(patch(config(), path, value)));
    expect(err.message.startsWith(`image config: ${field}: `)).toBe(true);
  });

  it('refuses a non-config media type and malformed JSON', () => {
    invalid(() => parseImageConfig(JSON.stringify(config()), MediaType.OciManifest));
    invalid(() => parseImageConfig('{'));
  });
});

describe('parseDescriptor', () => {
  const data = Buffer.from('{}').toString('base64');
  const desc = { mediaType: MediaType.OciEmpty, digest: d('{}'), size: 2 };

  it('accepts a descriptor, with matching embedded data', () => {
    expect(parseDescriptor(JSON.stringify(desc))).toEqual(desc);
    expect(parseDescriptor(JSON.stringify({ ...desc, data })).data).toBe(data);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['data of another digest', { ...desc, data: Buffer.from('[]').toString('base64') }, 'data'],
    ['data of another size', { ...desc, size: 3, data }, 'data'],
    ['data not base64', { ...desc, data: '!!' }, 'data'],
    ['bad digest', { ...desc, digest: 'sha256:zz' }, 'digest'],
  ])('refuses %s, naming %s', (_, doc, field) => {
    const err = invalid(() => parseDescriptor(JSON.stringify(doc)));
    expect(err.message.startsWith(`descriptor: ${field}: `)).toBe(true);
  });

  it('reports the kind on the error', () => {
    expect(() => parseDescriptor('nope')).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
  });
});
