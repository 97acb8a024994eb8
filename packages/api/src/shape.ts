/**
 * A value of the wrong shape in an init (a string where an array is expected, a number out of
 * range, ...) or malformed bytes. The codec turns it into an `InvalidArgument` BerthError that
 * names the message type.
 */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A `ShapeError` for field `name`: `name: <expected> expected, got <what value is>`. */
export function wrongShape(name: string, expected: string, value: unknown): ShapeError {
  return new ShapeError(`${name}: ${expected} expected, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value)})`;
  return `a ${typeof value}`;
}

/** `value` as an object holding a message's fields (any non-array object); throws otherwise. */
export function messageInit(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw wrongShape(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

/** `value` as the array of a repeated field; throws otherwise. */
export function arrayInit(name: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw wrongShape(name, 'an array', value);
  return value;
}

/** `value` as the object of a map field (keys are the map's keys); throws otherwise. */
export function mapInit(name: string, value: unknown): Record<string, unknown> {
  if (value instanceof Map) throw wrongShape(name, 'an object', value);
  return messageInit(name, value);
}
