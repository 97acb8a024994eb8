import type { Descriptor, Platform } from '@berth/spec';

/**
 * JSON serialized byte for byte as containerd's Go code does (`encoding/json` over the
 * image-spec structs), so that documents berth synthesizes (the manifest and index of an
 * imported docker-archive, an exported `index.json`) get the digests containerd would give
 * them: struct fields in declaration order, empty optional fields left out, map keys sorted,
 * and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u00XX`.
 */

/** A JSON value whose objects keep the key order they were built with. */
export type Ordered = string | number | boolean | null | Ordered[] | { [key: string]: Ordered | undefined };

const goEscapes = /[<>&\u2028\u2029]/g;

/** Serializes `value` with Go's escaping; object keys stay in insertion order, undefined members drop. */
export function goJson(value: Ordered): string {
  return JSON.stringify(value).replace(goEscapes, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A string map with keys sorted, as Go marshals `map[string]string`. */
export function sortedMap(map: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (map === undefined || Object.keys(map).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key]!;
  return out;
}

/** An image-spec `Platform` in Go field order. */
export function goPlatform(p: Platform): Ordered {
  return {
    architecture: p.architecture,
    os: p.os,
    'os.version': p['os.version'] || undefined,
    'os.features': p['os.features'] && p['os.features'].length > 0 ? [...p['os.features']] : undefined,
    variant: p.variant || undefined,
  };
}

/** An image-spec `Descriptor` in Go field order (image-spec 1.1). */
export function goDescriptor(d: Descriptor): Ordered {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    urls: d.urls && d.urls.length > 0 ? [...d.urls] : undefined,
    annotations: sortedMap(d.annotations),
    data: d.data || undefined,
    platform: d.platform ? goPlatform(d.platform) : undefined,
    artifactType: d.artifactType || undefined,
  };
}
