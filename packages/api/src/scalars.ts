// The proto3 scalar types, one object each: how an init value is checked, when it is the
// default, how it goes on and comes off the wire. Generated code passes them to the writer and
// to the create helpers (`w.scalar($.string, 1, 'type', m.type)`); readers call the Reader's
// methods directly.
import { bits, decoded64, int64Init, split, zigzag } from './int64';
import type { Reader } from './reader';
import { ShapeError, wrongShape } from './shape';
import { WireType, type Writer } from './writer';

/**
 * A scalar type. `T` is what decode gives, `I` what `init` makes of a caller's value (the same
 * but for 64-bit integers, which keep a bigint's every bit until they are written).
 */
export interface Scalar<T, I = T> {
  /** The wire type its values go on the wire with (unpacked). */
  readonly wireType: WireType;
  /** The proto3 default. */
  readonly zero: T;
  /** Checks a caller's value (not null) and coerces it as the wire would; throws `ShapeError`. */
  init(name: string, value: unknown): I;
  /** Whether a checked value is the default (left off the wire with implicit presence). */
  isZero(value: I): boolean;
  /** Writes a checked value (no tag). */
  write(w: Writer, value: I): void;
  /** Reads one value (no tag). */
  read(r: Reader): T;
  /** What decode gives for a checked value once it went over the wire. */
  decoded(value: I): T;
  /** A map key as the property name of the decoded object. */
  key(value: T): string;
  /** A property name of a map init as a checked key. */
  fromKey(name: string, key: string): I;
}

const same = <T>(v: T): T => v;

function finite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongShape(name, 'a finite number', value);
  return value;
}

interface IntOptions {
  wireType: WireType;
  coerce(v: number): number;
  write(w: Writer, v: number): void;
  read(r: Reader): number;
}

function int32Kind({ wireType, coerce, write, read }: IntOptions): Scalar<number> {
  return {
    wireType,
    zero: 0,
    init: (name, value) => coerce(finite(name, value)),
    isZero: (v) => v === 0,
    write,
    read,
    decoded: same,
    key: String,
    fromKey(name, key) {
      if (!/^-?\d+$/.test(key)) throw new ShapeError(`${name}: map key "${key}" is not an integer`);
      return coerce(Number(key));
    },
  };
}

/** int32: a varint; negative values take ten bytes, as in Go. */
export const int32: Scalar<number> = int32Kind({
  wireType: WireType.Varint,
  coerce: (v) => v | 0,
  write: (w, v) => w.int32(v),
  read: (r) => r.int32(),
});
/** An enum: an int32 on the wire; values the .proto does not name are kept as numbers. */
export const enumeration: Scalar<number> = int32;
export const uint32: Scalar<number> = int32Kind({
  wireType: WireType.Varint,
  coerce: (v) => v >>> 0,
  write: (w, v) => w.varint32(v),
  read: (r) => r.uint32(),
});
export const sint32: Scalar<number> = int32Kind({
  wireType: WireType.Varint,
  coerce: (v) => v | 0,
  write: (w, v) => w.varint32(((v << 1) ^ (v >> 31)) >>> 0),
  read: (r) => r.sint32(),
});
export const fixed32: Scalar<number> = int32Kind({
  wireType: WireType.Fixed32,
  coerce: (v) => v >>> 0,
  write: (w, v) => w.fixed32(v),
  read: (r) => r.fixed32(),
});
export const sfixed32: Scalar<number> = int32Kind({
  wireType: WireType.Fixed32,
  coerce: (v) => v | 0,
  write: (w, v) => w.fixed32(v >>> 0),
  read: (r) => r.sfixed32(),
});

function int64Kind(wireType: WireType, signed: boolean, write: (w: Writer, v: number | bigint) => void, read: (r: Reader) => number): Scalar<number, number | bigint> {
  return {
    wireType,
    zero: 0,
    init: int64Init,
    isZero: (v) => v === 0 || v === 0n,
    write,
    read,
    decoded: (v) => decoded64(v, signed),
    key: String,
    fromKey: int64Init,
  };
}

/** int64: a varint, decoded as a Number. */
export const int64 = int64Kind(WireType.Varint, true, (w, v) => w.varint64Of(v), (r) => r.int64());
export const uint64 = int64Kind(WireType.Varint, false, (w, v) => w.varint64Of(v), (r) => r.uint64());
export const sint64 = int64Kind(
  WireType.Varint,
  true,
  (w, v) => {
    split(v);
    zigzag(bits.lo, bits.hi);
    w.varint64(bits.lo, bits.hi);
  },
  (r) => r.sint64(),
);
export const fixed64 = int64Kind(
  WireType.Fixed64,
  false,
  (w, v) => {
    split(v);
    w.fixed64(bits.lo, bits.hi);
  },
  (r) => r.fixed64(),
);
export const sfixed64 = int64Kind(
  WireType.Fixed64,
  true,
  (w, v) => {
    split(v);
    w.fixed64(bits.lo, bits.hi);
  },
  (r) => r.sfixed64(),
);

function floatKind(wireType: WireType, write: (w: Writer, v: number) => void, read: (r: Reader) => number, decoded: (v: number) => number): Scalar<number> {
  return {
    wireType,
    zero: 0,
    init: (name, value) => {
      if (typeof value !== 'number') throw wrongShape(name, 'a number', value);
      return value;
    },
    // -0 is left off too (as protobufjs did), NaN is not.
    isZero: (v) => v === 0,
    write,
    read,
    decoded,
    key: String,
    fromKey: (name) => {
      throw new ShapeError(`${name}: floating-point map keys do not exist`);
    },
  };
}

export const double: Scalar<number> = floatKind(WireType.Fixed64, (w, v) => w.double(v), (r) => r.double(), same);
/** float: decoded values are what float32 holds (`Math.fround`). */
export const float: Scalar<number> = floatKind(WireType.Fixed32, (w, v) => w.float(v), (r) => r.float(), Math.fround);

export const bool: Scalar<boolean> = {
  wireType: WireType.Varint,
  zero: false,
  init: (name, value) => {
    if (typeof value !== 'boolean') throw wrongShape(name, 'a boolean', value);
    return value;
  },
  isZero: (v) => !v,
  write: (w, v) => w.varint32(v ? 1 : 0),
  read: (r) => r.bool(),
  decoded: same,
  key: (v) => (v ? 'true' : 'false'),
  fromKey: (name, key) => {
    if (key !== 'true' && key !== 'false') throw new ShapeError(`${name}: map key "${key}" is not true or false`);
    return key === 'true';
  },
};

export const string: Scalar<string> = {
  wireType: WireType.Len,
  zero: '',
  init: (name, value) => {
    if (typeof value !== 'string') throw wrongShape(name, 'a string', value);
    return value;
  },
  isZero: (v) => v === '',
  write: (w, v) => w.string(v),
  read: (r) => r.string(),
  decoded: same,
  key: same,
  fromKey: (_name, key) => key,
};

/** bytes: a `Uint8Array` (a Buffer is taken and given back as a plain Uint8Array view). */
export const bytes: Scalar<Uint8Array> = {
  wireType: WireType.Len,
  zero: new Uint8Array(0),
  init: (name, value) => {
    if (!(value instanceof Uint8Array)) throw wrongShape(name, 'a Uint8Array', value);
    return value;
  },
  isZero: (v) => v.length === 0,
  write: (w, v) => w.bytes(v),
  read: (r) => r.bytes(),
  decoded: (v) => (v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)),
  key: () => {
    throw new ShapeError('bytes map keys do not exist');
  },
  fromKey: (name) => {
    throw new ShapeError(`${name}: bytes map keys do not exist`);
  },
};
