import { invalidArgument } from '@berth/errdefs';
import { validateLabels } from '@berth/spec';
import type { Labels } from './types';

/**
 * String maps (labels, annotations) as containerd keeps them: a `''` value is never stored, and
 * field masks address single entries as `<prefix>.<key>`. Maps are built through `Map` and
 * `Object.fromEntries`, so a key such as `__proto__` stays an ordinary key.
 */

/** A copy of `m` without `''` values, keys sorted. */
export function cleanMap(m: Readonly<Labels> | undefined): Labels {
  if (m === undefined) return {};
  return Object.fromEntries(
    Object.entries(m)
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** JSON text for a map column (`cleanMap` first). */
export function encodeMap(m: Readonly<Labels> | undefined): string {
  return JSON.stringify(cleanMap(m));
}

/** The map in a JSON column. */
export function decodeMap(text: string): Labels {
  return JSON.parse(text) as Labels;
}

/** Checks a label map (InvalidArgument), naming `what` in the message. */
export function checkLabels(labels: Readonly<Labels> | undefined, what: string): void {
  try {
    validateLabels(labels);
  } catch (err) {
    throw invalidArgument(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Applies one containerd field-mask path to a map: `<prefix>.<key>` copies that entry from
 * `incoming` (absent means delete), `<prefix>` replaces the map. Returns undefined when `path`
 * is neither, so the caller can try its other fields.
 */
export function applyMapPath(
  current: Readonly<Labels> | undefined,
  incoming: Readonly<Labels> | undefined,
  prefix: string,
  path: string,
): Labels | undefined {
  if (path === prefix) return { ...incoming };
  if (!path.startsWith(`${prefix}.`)) return undefined;
  const key = path.slice(prefix.length + 1);
  const next = new Map(Object.entries(current ?? {}));
  const value = incoming !== undefined && Object.hasOwn(incoming, key) ? incoming[key]! : '';
  next.set(key, value);
  return Object.fromEntries(next);
}

/**
 * containerd's `checkMap` for filter adaptors: the rest of the fieldpath joined with `.` is
 * the key (so `labels.a.b` and `labels."a.b"` name the same label); an empty map has nothing.
 */
export function mapField(rest: string[], m: Readonly<Labels> | undefined): string | undefined {
  if (m === undefined || rest.length === 0) return undefined;
  const key = rest.join('.');
  return Object.hasOwn(m, key) ? m[key] : undefined;
}
