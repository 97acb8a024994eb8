// The reflection codec @berth/api used before its codecs were generated (protobufjs's
// `Root.fromJSON` of the descriptor, `fromObject`/`encode`/`decode`/`toObject` plus berth's
// passes), kept as the reference the differential test compares the static codecs against.
import protobuf from 'protobufjs';
import { invalidArgument } from '@berth/errdefs';

/** A reflection codec: what `message(typeName)` in the old runtime gave. */
export interface ReflectionCodec {
  encode(init: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
  create(init?: unknown): unknown;
}

const toObjectOptions: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
};

/** The old runtime's codec of `type`. */
export function reflectionCodec(type: protobuf.Type): ReflectionCodec {
  const typeName = type.fullName.slice(1);
  const fromInit = (init: unknown): protobuf.Message => {
    try {
      return dropImplicitDefaults(type, type.fromObject((init ?? {}) as Record<string, unknown>));
    } catch (err) {
      throw invalidArgument(`${typeName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  return {
    encode(init) {
      return plainBytes(type.encode(fromInit(init)).finish());
    },
    decode(bytes) {
      let decoded: protobuf.Message;
      try {
        decoded = type.decode(bytes);
      } catch (err) {
        throw invalidArgument(`decode ${typeName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      return normalize(type, type.toObject(decoded, toObjectOptions));
    },
    create(init) {
      return normalize(type, type.toObject(fromInit(init), toObjectOptions));
    },
  };
}

/** proto3 leaves implicit-presence scalars at their default off the wire; protobufjs writes any set field. */
function dropImplicitDefaults(type: protobuf.Type, msg: protobuf.Message): protobuf.Message {
  const m = msg as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const value = m[field.name];
    if (value == null) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (sub) {
      if (field.map) for (const v of Object.values(value as Record<string, protobuf.Message>)) dropImplicitDefaults(sub, v);
      else if (field.repeated) for (const v of value as protobuf.Message[]) dropImplicitDefaults(sub, v);
      else dropImplicitDefaults(sub, value as protobuf.Message);
    } else if (!field.repeated && !field.map && !field.hasPresence && isDefaultScalar(value)) {
      delete m[field.name];
    }
  }
  return msg;
}

function isDefaultScalar(value: unknown): boolean {
  if (value === 0 || value === '' || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    return (value as { low: number; high: number }).low === 0 && (value as { low: number; high: number }).high === 0;
  }
  return false;
}

/** Unset message fields `undefined` (oneof members absent), plain Uint8Arrays, declaration order. */
function normalize(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (value == null) {
      if (!field.partOf) out[field.name] = undefined;
    } else if (sub) {
      out[field.name] = mapValue(field, value, (v) => normalize(sub, v as Record<string, unknown>));
    } else if (field.type === 'bytes') {
      out[field.name] = mapValue(field, value, (v) => plainBytes(v as Uint8Array));
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function mapValue(field: protobuf.Field, value: unknown, fn: (v: unknown) => unknown): unknown {
  if (field.map) {
    const map = value as Record<string, unknown>;
    for (const key of Object.keys(map)) map[key] = fn(map[key]);
    return map;
  }
  return field.repeated ? (value as unknown[]).map(fn) : fn(value);
}

function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
