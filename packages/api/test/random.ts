// Seeded random messages for the differential test: every field kind (scalars at and off their
// defaults, 64-bit values as numbers, bigints and strings, enums incl. unnamed values, bytes as
// Uint8Array and Buffer, nested, repeated and map fields, oneofs with at most one member set,
// proto3 `optional`), walked from protobufjs's reflection of the type.
import protobuf from 'protobufjs';

/** A seeded PRNG (mulberry32): the same seed gives the same messages. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const CHARS = ['a', 'Z', '0', ' ', '/', ':', '\u00e9', '\u00ff', '\u0800', '\u4e2d', '\uffff', '\u{1f600}', '\u{10ffff}', '\n', '\u0000'];

/** A well-formed string (no lone surrogates), sometimes long enough for a two-byte length. */
export function randomString(rnd: Random): string {
  const n = rnd.pick([0, 1, 3, 10, 42, 43, 50, 130]);
  let s = '';
  const ascii = rnd.chance(0.5);
  for (let i = 0; i < n; i++) s += ascii ? String.fromCharCode(32 + rnd.int(95)) : rnd.pick(CHARS);
  return s;
}

const I32 = [0, 1, -1, 127, 128, 300, 2 ** 31 - 1, -(2 ** 31), 16384, -300];
const U32 = [0, 1, 127, 128, 300, 2 ** 32 - 1, 2 ** 31, 16384];
const I64 = [0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), 5e9, -62135596800, 2 ** 31];
const U64 = [0, 1, 2 ** 32, 2 ** 53 - 1, 5e9, 2 ** 31, 9_007_199_254_740_991];

/** A random value of scalar type `type` (an init value: 64-bit ones may be bigints or strings). */
export function randomScalar(rnd: Random, type: string): unknown {
  switch (type) {
    case 'double':
      return rnd.pick([0, -0, 1.5, -2.25, 1e300, Number.MIN_VALUE, NaN, Infinity, -Infinity, rnd.next() * 1e6 - 5e5]);
    case 'float':
      return Math.fround(rnd.pick([0, 1.5, -2.25, 3.4e38, 1e-30, rnd.next() * 1000]));
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return rnd.chance(0.5) ? rnd.pick(I32) : rnd.int(2 ** 31) * (rnd.chance(0.5) ? 1 : -1);
    case 'uint32':
    case 'fixed32':
      return rnd.chance(0.5) ? rnd.pick(U32) : rnd.int(2 ** 32);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return as64(rnd, rnd.chance(0.5) ? rnd.pick(I64) : (rnd.int(2 ** 26) * 2 ** 26 + rnd.int(2 ** 26)) * (rnd.chance(0.5) ? 1 : -1));
    case 'uint64':
    case 'fixed64':
      return as64(rnd, rnd.chance(0.5) ? rnd.pick(U64) : rnd.int(2 ** 26) * 2 ** 26 + rnd.int(2 ** 26));
    case 'bool':
      return rnd.chance(0.5);
    case 'string':
      return randomString(rnd);
    case 'bytes': {
      const b = rnd.bytes(rnd.pick([0, 1, 5, 127, 128, 300]));
      return rnd.chance(0.2) ? Buffer.from(b) : b;
    }
    default:
      throw new Error(`no random ${type}`);
  }
}

/** A 64-bit init value: mostly a number, sometimes the same value as a bigint or a string. */
function as64(rnd: Random, v: number): unknown {
  const r = rnd.next();
  if (r < 0.1) return BigInt(v);
  if (r < 0.2) return String(v);
  return v;
}

function randomEnum(rnd: Random, e: protobuf.Enum): number {
  if (rnd.chance(0.1)) return rnd.pick([99, -1, 2 ** 31 - 1]);
  return rnd.pick(Object.values(e.values));
}

function randomValue(rnd: Random, field: protobuf.Field, depth: number): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return randomMessage(rnd, t, depth + 1);
  if (t instanceof protobuf.Enum) return randomEnum(rnd, t);
  return randomScalar(rnd, field.type);
}

function randomKey(rnd: Random, keyType: string): string {
  if (keyType === 'string') return rnd.chance(0.2) ? '' : randomString(rnd);
  return String(randomScalar(rnd, keyType));
}

/** A random init of message `type`; nesting stops at depth 4. */
export function randomMessage(rnd: Random, type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const chosen = new Map<protobuf.OneOf, protobuf.Field | undefined>();
  for (const oneof of type.oneofsArray) {
    chosen.set(oneof, rnd.chance(0.6) ? rnd.pick(oneof.fieldsArray) : undefined);
  }
  for (const field of type.fieldsArray) {
    if (field.partOf && chosen.get(field.partOf) !== field) continue;
    // Past depth 3 no message fields: recursive types end.
    if (depth > 3 && field.resolvedType instanceof protobuf.Type) continue;
    if (!field.partOf && !rnd.chance(0.6)) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      const n = rnd.int(4);
      for (let i = 0; i < n; i++) map[randomKey(rnd, (field as unknown as protobuf.MapField).keyType)] = randomValue(rnd, field, depth);
      out[field.name] = map;
    } else if (field.repeated) {
      const n = rnd.int(5);
      out[field.name] = Array.from({ length: n }, () => randomValue(rnd, field, depth));
    } else {
      out[field.name] = randomValue(rnd, field, depth);
    }
  }
  return out;
}
