import { invalidArgument, type BerthError } from '@berth/errdefs';

/**
 * Field checks shared by the document validators. Internal. Every failure is InvalidArgument
 * with the message `<document>: <field path>: <problem>`, e.g.
 * `manifest: layers[2].size: must be a non-negative integer`. JSON `null` in an optional
 * field is treated as absent and removed (Docker writes `"Cmd": null`).
 */

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes and parses a JSON document; malformed input is InvalidArgument naming `doc`. */
export function parseJson(doc: string, json: string | Uint8Array): unknown {
  let text: string;
  if (typeof json === 'string') text = json;
  else if (json instanceof Uint8Array) {
    try {
      text = utf8.decode(json);
    } catch (err) {
      throw invalidArgument(`${doc}: not valid UTF-8`, { cause: err });
    }
  } else throw invalidArgument(`${doc}: want a JSON string or bytes`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${doc}: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Where a value sits in its document, for messages. */
export class FieldPath {
  constructor(
    readonly doc: string,
    readonly path: string = '',
  ) {}

  /** The path of a member: `layers[2]` + `digest` → `layers[2].digest`. */
  key(name: string): FieldPath {
    return new FieldPath(this.doc, this.path === '' ? name : `${this.path}.${name}`);
  }

  /** The path of an array element: `layers` + 2 → `layers[2]`. */
  index(i: number): FieldPath {
    return new FieldPath(this.doc, `${this.path}[${i}]`);
  }

  /** The InvalidArgument error for a problem at this path; the caller throws it. */
  error(message: string, cause?: unknown): BerthError {
    const where = this.path === '' ? this.doc : `${this.doc}: ${this.path}`;
    return invalidArgument(`${where}: ${message}`, cause === undefined ? undefined : { cause });
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

/** A JSON object being checked, with typed accessors for its members. */
export class CheckedObject {
  readonly value: Record<string, unknown>;

  constructor(
    value: unknown,
    readonly at: FieldPath,
  ) {
    if (!isPlainObject(value)) throw at.error(`must be a JSON object, got ${kind(value)}`);
    this.value = value;
  }

  /** Reads `key`; null becomes absent (and is removed). Throws when required and absent. */
  private get(key: string, required: boolean): unknown {
    const v = this.value[key];
    if (v === null) delete this.value[key];
    if (v === undefined || v === null) {
      if (required) throw this.at.key(key).error('is required');
      return undefined;
    }
    return v;
  }

  string(key: string, opts: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const v = this.get(key, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.at.key(key).error(`must be a string, got ${kind(v)}`);
    if (opts.nonEmpty && v === '') throw this.at.key(key).error('must not be empty');
    return v;
  }

  boolean(key: string): boolean | undefined {
    const v = this.get(key, false);
    if (v !== undefined && typeof v !== 'boolean') throw this.at.key(key).error(`must be a boolean, got ${kind(v)}`);
    return v as boolean | undefined;
  }

  /** A safe integer ≥ 0 (sizes, counts). */
  size(key: string, opts: { required?: boolean } = {}): number | undefined {
    const v = this.get(key, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.at.key(key).error('must be a non-negative integer');
    return v;
  }

  /** Any JSON number (Docker's healthcheck durations). */
  number(key: string): number | undefined {
    const v = this.get(key, false);
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw this.at.key(key).error(`must be a number, got ${kind(v)}`);
    return v as number | undefined;
  }

  array(key: string, opts: { required?: boolean } = {}): Array<[unknown, FieldPath]> | undefined {
    const v = this.get(key, opts.required ?? false);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw this.at.key(key).error(`must be an array, got ${kind(v)}`);
    const base = this.at.key(key);
    return v.map((item, i) => [item, base.index(i)]);
  }

  stringArray(key: string): string[] | undefined {
    const items = this.array(key);
    if (items === undefined) return undefined;
    for (const [item, at] of items) if (typeof item !== 'string') throw at.error(`must be a string, got ${kind(item)}`);
    return items.map(([item]) => item as string);
  }

  /** An object whose values are all strings (annotations, labels). */
  stringMap(key: string): Record<string, string> | undefined {
    const obj = this.object(key);
    if (obj === undefined) return undefined;
    for (const [k, v] of Object.entries(obj.value)) if (typeof v !== 'string') throw obj.at.key(k).error(`must be a string, got ${kind(v)}`);
    return obj.value as Record<string, string>;
  }

  /** An object whose values are all objects (`ExposedPorts`, `Volumes`). */
  objectSet(key: string): void {
    const obj = this.object(key);
    if (obj === undefined) return;
    for (const k of Object.keys(obj.value)) new CheckedObject(obj.value[k], obj.at.key(k));
  }

  object(key: string, opts: { required?: boolean } = {}): CheckedObject | undefined {
    const v = this.get(key, opts.required ?? false);
    return v === undefined ? undefined : new CheckedObject(v, this.at.key(key));
  }

  /** Fails when `key` is present: guards against a document posing as another kind. */
  absent(key: string, why: string): void {
    if (this.value[key] !== undefined) throw this.at.key(key).error(why);
  }
}
