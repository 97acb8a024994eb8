import type { ImageConfig } from './image';
import { isConfigMediaType } from './media-types';
import { parseDigest } from './digest';
import { CheckedObject, FieldPath, parseJson } from './validate-fields';

/**
 * Parses and validates an image configuration (OCI `application/vnd.oci.image.config.v1+json`
 * or Docker `application/vnd.docker.container.image.v1+json`). `mediaType`, when given, must be
 * one of those two.
 *
 * Rules: `architecture` and `os` non-empty strings; `rootfs.type` is `layers` and every
 * `rootfs.diff_ids` entry a digest `parseDigest` accepts; `config`, when present, has the
 * documented types (`Env`, `Entrypoint`, `Cmd` string arrays, `Labels` a string map,
 * `ExposedPorts` and `Volumes` maps of objects, …); `history` entries have string fields and a
 * boolean `empty_layer`. JSON `null` in an optional field (Docker writes `"Cmd": null`) is
 * treated as absent and removed; unknown fields are kept.
 *
 * Throws InvalidArgument naming the field (`image config: rootfs.diff_ids[1]: invalid digest
 * …`) and for malformed JSON.
 */
export function parseImageConfig(json: string | Uint8Array, mediaType?: string): ImageConfig {
  const doc = 'image config';
  if (mediaType !== undefined && !isConfigMediaType(mediaType)) {
    throw new FieldPath(doc).error(`media type ${JSON.stringify(mediaType)} is not an image config type`);
  }
  const obj = new CheckedObject(parseJson(doc, json), new FieldPath(doc));
  obj.string('created');
  obj.string('author');
  obj.string('architecture', { required: true, nonEmpty: true });
  obj.string('os', { required: true, nonEmpty: true });
  obj.string('os.version');
  obj.stringArray('os.features');
  obj.string('variant');

  const rootfs = obj.object('rootfs', { required: true })!;
  const type = rootfs.string('type', { required: true });
  if (type !== 'layers') throw rootfs.at.key('type').error(`must be "layers", got ${JSON.stringify(type)}`);
  for (const [item, at] of rootfs.array('diff_ids') ?? []) {
    if (typeof item !== 'string') throw at.error('must be a digest string');
    try {
      parseDigest(item);
    } catch (err) {
      throw at.error((err as Error).message, err);
    }
  }
  // A config of an image without layers may omit diff_ids; make it present for callers.
  rootfs.value['diff_ids'] ??= [];

  const config = obj.object('config');
  if (config !== undefined) checkRuntimeConfig(config);
  for (const [item, at] of obj.array('history') ?? []) {
    const entry = new CheckedObject(item, at);
    for (const key of ['created', 'created_by', 'author', 'comment']) entry.string(key);
    entry.boolean('empty_layer');
  }
  return obj.value as unknown as ImageConfig;
}

function checkRuntimeConfig(config: CheckedObject): void {
  for (const key of ['User', 'WorkingDir', 'StopSignal']) config.string(key);
  for (const key of ['Env', 'Entrypoint', 'Cmd', 'OnBuild', 'Shell']) config.stringArray(key);
  config.objectSet('ExposedPorts');
  config.objectSet('Volumes');
  config.stringMap('Labels');
  config.boolean('ArgsEscaped');
  const health = config.object('Healthcheck');
  if (health !== undefined) {
    health.stringArray('Test');
    for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) health.number(key);
  }
}
