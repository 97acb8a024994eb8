import type { Descriptor, Platform } from './descriptor';
import { digestAlgorithm, digestOf, parseDigest } from './digest';
import { CheckedObject, FieldPath, parseJson } from './validate-fields';

const base64Grammar = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks a descriptor found at `at` in a document and returns it typed. Internal; see
 * `parseDescriptor` for the rules.
 */
export function checkDescriptor(value: unknown, at: FieldPath): Descriptor {
  const obj = new CheckedObject(value, at);
  obj.string('mediaType', { required: true, nonEmpty: true });
  const digestText = obj.string('digest', { required: true })!;
  let digest;
  try {
    digest = parseDigest(digestText);
  } catch (err) {
    throw at.key('digest').error((err as Error).message, err);
  }
  const size = obj.size('size', { required: true })!;
  const urls = obj.stringArray('urls');
  urls?.forEach((url, i) => {
    if (!URL.canParse(url)) throw at.key('urls').index(i).error(`invalid URL ${JSON.stringify(url)}`);
  });
  obj.stringMap('annotations');
  obj.string('artifactType');
  const platform = obj.object('platform');
  if (platform !== undefined) checkPlatform(platform);
  const data = obj.string('data');
  if (data !== undefined) {
    if (!base64Grammar.test(data)) throw at.key('data').error('must be base64');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length !== size) throw at.key('data').error(`decodes to ${bytes.length} bytes, size says ${size}`);
    if (digestOf(bytes, digestAlgorithm(digest)) !== digest) throw at.key('data').error(`does not match digest ${digest}`);
  }
  return obj.value as unknown as Descriptor;
}

/** Checks a platform object: `architecture` and `os` non-empty strings, the rest optional. */
export function checkPlatform(obj: CheckedObject): Platform {
  obj.string('architecture', { required: true, nonEmpty: true });
  obj.string('os', { required: true, nonEmpty: true });
  obj.string('os.version');
  obj.stringArray('os.features');
  obj.string('variant');
  return obj.value as unknown as Platform;
}

/**
 * Parses and validates one OCI content descriptor from JSON (as in an OCI layout's
 * `index.json` entries or an `application/vnd.oci.descriptor.v1+json` blob).
 *
 * Rules: `mediaType` a non-empty string; `digest` accepted by `parseDigest`; `size` a
 * non-negative safe integer; `urls` an array of URLs; `annotations` a map of strings;
 * `platform` with non-empty `architecture` and `os`; `data`, when present, base64 of exactly
 * `size` bytes with that digest. Unknown fields are kept. JSON `null` in an optional field is
 * treated as absent.
 *
 * Throws InvalidArgument naming the field: `descriptor: digest: invalid digest "sha256:zz": …`.
 */
export function parseDescriptor(json: string | Uint8Array): Descriptor {
  return checkDescriptor(parseJson('descriptor', json), new FieldPath('descriptor'));
}
