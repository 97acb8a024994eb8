import { invalidArgument } from '@berth/errdefs';
import type { Index, Manifest } from './image';
import { MediaType, isIndexMediaType, isManifestMediaType } from './media-types';
import { checkDescriptor } from './validate-descriptor';
import { CheckedObject, FieldPath, parseJson } from './validate-fields';

const schema1MediaTypes = new Set<string>([
  MediaType.DockerSchema1Manifest,
  'application/vnd.docker.distribution.manifest.v1+json',
]);

const schema1Refusal = 'docker image manifest schema 1 is not supported; push the image again with a current client';

interface Kind {
  doc: 'index' | 'manifest';
  accepts: (mediaType: string) => boolean;
  other: 'index' | 'manifest';
}

const indexKind: Kind = { doc: 'index', accepts: isIndexMediaType, other: 'manifest' };
const manifestKind: Kind = { doc: 'manifest', accepts: isManifestMediaType, other: 'index' };

/**
 * Checks the envelope every index and manifest shares and returns the document object:
 * Docker schema 1 is refused, `schemaVersion` must be 2, and the media type, from the
 * caller (descriptor or Content-Type) and from the document's own `mediaType` field, must be
 * of the expected kind and agree with each other.
 */
function checkEnvelope(kind: Kind, json: string | Uint8Array, mediaType: string | undefined): CheckedObject {
  if (mediaType !== undefined && schema1MediaTypes.has(mediaType)) throw invalidArgument(`${kind.doc}: ${schema1Refusal}`);
  const obj = new CheckedObject(parseJson(kind.doc, json), new FieldPath(kind.doc));
  const at = obj.at;
  if (obj.value['schemaVersion'] === 1) throw invalidArgument(`${kind.doc}: ${schema1Refusal}`);
  if (obj.value['schemaVersion'] !== 2) throw at.key('schemaVersion').error(`must be 2, got ${JSON.stringify(obj.value['schemaVersion'] ?? null)}`);

  if (mediaType !== undefined && !kind.accepts(mediaType)) {
    throw invalidArgument(`${kind.doc}: media type ${JSON.stringify(mediaType)} is not an image ${kind.doc} type`);
  }
  const own = obj.string('mediaType');
  if (own !== undefined) {
    if (schema1MediaTypes.has(own)) throw invalidArgument(`${kind.doc}: ${schema1Refusal}`);
    if (!kind.accepts(own)) throw at.key('mediaType').error(`${JSON.stringify(own)} is not an image ${kind.doc} type`);
    if (mediaType !== undefined && own !== mediaType) {
      throw at.key('mediaType').error(`${JSON.stringify(own)} does not match the expected ${JSON.stringify(mediaType)}`);
    }
  }
  return obj;
}

/**
 * Parses and validates an image index: OCI `application/vnd.oci.image.index.v1+json` or a
 * Docker manifest list, which has the same shape. `mediaType` is the type the caller expects
 * (from the descriptor or the registry's Content-Type); when given it must be an index type
 * and equal the document's own `mediaType` field, if any.
 *
 * Every entry of `manifests`, and `subject`, is checked as a descriptor (see
 * `parseDescriptor`); `annotations` must map strings to strings. A document with `config` or
 * `layers` is refused, so a manifest cannot pass for an index.
 *
 * Throws InvalidArgument naming the field (`index: manifests[0].size: must be a non-negative
 * integer`), for malformed JSON, and for Docker schema 1.
 */
export function parseIndex(json: string | Uint8Array, mediaType?: string): Index {
  const obj = checkEnvelope(indexKind, json, mediaType);
  obj.absent('config', 'an index has no config; is this a manifest?');
  obj.absent('layers', 'an index has no layers; is this a manifest?');
  for (const [item, at] of obj.array('manifests', { required: true })!) checkDescriptor(item, at);
  checkCommon(obj);
  return obj.value as unknown as Index;
}

/**
 * Parses and validates an image manifest: OCI `application/vnd.oci.image.manifest.v1+json`
 * or Docker `application/vnd.docker.distribution.manifest.v2+json`. `mediaType` as for
 * `parseIndex`, but of a manifest type.
 *
 * `config`, every entry of `layers`, and `subject` are checked as descriptors; `annotations`
 * must map strings to strings. A document with `manifests` is refused, so an index cannot pass
 * for a manifest. Media types of the config and layers are not restricted here (artifacts use
 * their own); the unpacker decides what it can apply.
 *
 * Throws InvalidArgument naming the field (`manifest: layers[2].digest: invalid digest
 * "sha256:zz": …`), for malformed JSON, and for Docker schema 1.
 */
export function parseManifest(json: string | Uint8Array, mediaType?: string): Manifest {
  const obj = checkEnvelope(manifestKind, json, mediaType);
  obj.absent('manifests', 'a manifest has no manifests; is this an index?');
  const config = obj.object('config', { required: true })!;
  checkDescriptor(config.value, config.at);
  for (const [item, at] of obj.array('layers', { required: true })!) checkDescriptor(item, at);
  checkCommon(obj);
  return obj.value as unknown as Manifest;
}

function checkCommon(obj: CheckedObject): void {
  obj.string('artifactType');
  obj.stringMap('annotations');
  if (obj.value['subject'] !== undefined && obj.value['subject'] !== null) checkDescriptor(obj.value['subject'], obj.at.key('subject'));
  else delete obj.value['subject'];
}
