// The protobuf wire format, writing side: varints, fixed-width numbers, length-delimited
// records (https://protobuf.dev/programming-guides/encoding/), and the field-level methods
// generated code calls. Everything is written into one growing buffer; a nested message
// reserves one byte for its length and moves its body when the length needs more.
import { messageImplOf } from './impl';
import { bits, split } from './int64';
import type { MessageCodec } from './runtime';
import type { Scalar } from './scalars';
import { arrayInit, mapInit, messageInit } from './shape';

/** The wire types (the low three bits of a tag). */
export const WireType = { Varint: 0, Fixed64: 1, Len: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** Strings shorter than this are encoded by hand (at most 3 bytes per UTF-16 unit: a 1-byte length). */
const SHORT_STRING = 43;

let encoder: InstanceType<typeof TextEncoder> | undefined;

/** The bytes of one message being encoded. */
export class Writer {
  buf: Uint8Array;
  pos = 0;
  private view: DataView | undefined;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
  }

  /**
   * What was written, as a plain `Uint8Array`: a copy, or with `keep: false` (the writer is not
   * used again) a view of the buffer, saving the copy of a large message.
   */
  finish(keep: boolean): Uint8Array {
    return keep ? this.buf.slice(0, this.pos) : this.buf.subarray(0, this.pos);
  }

  /** Makes room for `n` more bytes (and some: a large field rarely comes last). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n + (n >>> 3) + 256));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = undefined;
  }

  // --- values ---------------------------------------------------------------------------

  /** A field's tag: its number and wire type. */
  tag(field: number, wireType: WireType): void {
    this.varint32(((field << 3) | wireType) >>> 0);
  }

  /** An unsigned 32-bit varint (`v` is taken modulo 2^32). */
  varint32(v: number): void {
    this.reserve(5);
    const buf = this.buf;
    let pos = this.pos;
    v >>>= 0;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A 64-bit varint from its two's-complement halves. */
  varint64(lo: number, hi: number): void {
    if (hi === 0) return this.varint32(lo);
    this.reserve(10);
    const buf = this.buf;
    let pos = this.pos;
    // The low 28 bits, then 4 low + 3 high bits, then the rest of the high half.
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    let b = lo | ((hi & 0x07) << 4);
    hi >>>= 3;
    while (hi > 0) {
      buf[pos++] = b | 0x80;
      b = hi & 0x7f;
      hi >>>= 7;
    }
    buf[pos++] = b;
    this.pos = pos;
  }

  /** A 64-bit varint of an integer in [-2^63, 2^64). */
  varint64Of(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= 0xffffffff) return this.varint32(v);
    split(v);
    this.varint64(bits.lo, bits.hi);
  }

  /** An int32 varint: negative values are sign-extended to ten bytes. */
  int32(v: number): void {
    if (v >= 0) this.varint32(v);
    else this.varint64(v >>> 0, 0xffffffff);
  }

  /** Four bytes, little-endian. */
  fixed32(v: number): void {
    this.reserve(4);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = v & 0xff;
    buf[pos + 1] = (v >>> 8) & 0xff;
    buf[pos + 2] = (v >>> 16) & 0xff;
    buf[pos + 3] = v >>> 24;
    this.pos = pos + 4;
  }

  /** Eight bytes, little-endian, from the two halves. */
  fixed64(lo: number, hi: number): void {
    this.fixed32(lo);
    this.fixed32(hi);
  }

  double(v: number): void {
    this.reserve(8);
    this.dataView().setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  float(v: number): void {
    this.reserve(4);
    this.dataView().setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  /** A length-delimited byte string. */
  bytes(b: Uint8Array): void {
    this.varint32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-delimited UTF-8 string (lone surrogates become U+FFFD, as TextEncoder makes them). */
  string(s: string): void {
    const n = s.length;
    if (n < SHORT_STRING) {
      this.reserve(1 + 3 * n);
      const at = this.pos++;
      this.pos = utf8Short(s, this.buf, this.pos);
      this.buf[at] = this.pos - at - 1;
      return;
    }
    const at = this.fork();
    this.reserve(3 * n);
    encoder ??= new TextEncoder();
    this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + 3 * n)).written;
    this.join(at);
  }

  /** Starts a length-delimited record: reserves a byte for the length. Give what it returns to `join`. */
  fork(): number {
    this.reserve(1);
    return this.pos++;
  }

  /** Ends the record `fork` started: writes its length, moving the body when it needs more than a byte. */
  join(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.reserve(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint32(len);
    this.pos = end;
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  // --- fields (what generated code calls) -----------------------------------------------

  /**
   * Field `field` (`name`) of a scalar type with implicit presence: written unless unset or at
   * its default. A value of the wrong shape throws `ShapeError`.
   */
  scalar<I>(kind: Scalar<unknown, I>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    const v = kind.init(name, value);
    if (kind.isZero(v)) return;
    this.tag(field, kind.wireType);
    kind.write(this, v);
  }

  /** A scalar field with explicit presence (proto3 `optional`, a oneof member): written whenever set. */
  optional<I>(kind: Scalar<unknown, I>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    const v = kind.init(name, value);
    this.tag(field, kind.wireType);
    kind.write(this, v);
  }

  /** A repeated scalar field written one record per element (strings, bytes, `[packed = false]`). */
  repeated<I>(kind: Scalar<unknown, I>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    for (const element of arrayInit(name, value)) {
      const v = kind.init(name, element);
      this.tag(field, kind.wireType);
      kind.write(this, v);
    }
  }

  /** A repeated numeric field, packed (proto3's default): one record holding every element; none when empty. */
  packed<I>(kind: Scalar<unknown, I>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    const list = arrayInit(name, value);
    if (list.length === 0) return;
    this.tag(field, WireType.Len);
    const at = this.fork();
    for (const element of list) kind.write(this, kind.init(name, element));
    this.join(at);
  }

  /** A singular message field: written whenever set, even when empty. */
  message<T>(codec: MessageCodec<T>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    this.tag(field, WireType.Len);
    this.body(codec, messageInit(name, value));
  }

  /** A repeated message field. */
  messages<T>(codec: MessageCodec<T>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    for (const element of arrayInit(name, value)) {
      this.tag(field, WireType.Len);
      this.body(codec, messageInit(name, element));
    }
  }

  /** A map field with scalar values: one entry message `{ key = 1; value = 2 }` per key, both always written. */
  map<K, V>(key: Scalar<unknown, K>, val: Scalar<unknown, V>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    const map = mapInit(name, value);
    for (const k of Object.keys(map)) {
      const kv = key.fromKey(name, k);
      const vv = val.init(name, map[k]);
      this.tag(field, WireType.Len);
      const at = this.fork();
      this.tag(1, key.wireType);
      key.write(this, kv);
      this.tag(2, val.wireType);
      val.write(this, vv);
      this.join(at);
    }
  }

  /** A map field with message values. */
  messageMap<K, T>(key: Scalar<unknown, K>, codec: MessageCodec<T>, field: number, name: string, value: unknown): void {
    if (value == null) return;
    const map = mapInit(name, value);
    for (const k of Object.keys(map)) {
      const kv = key.fromKey(name, k);
      const init = messageInit(name, map[k]);
      this.tag(field, WireType.Len);
      const at = this.fork();
      this.tag(1, key.wireType);
      key.write(this, kv);
      this.tag(2, WireType.Len);
      this.body(codec, init);
      this.join(at);
    }
  }

  /** A message's fields as a length-delimited record (the tag is written already). */
  private body<T>(codec: MessageCodec<T>, init: Record<string, unknown>): void {
    const at = this.fork();
    messageImplOf(codec).write(this, init as never);
    this.join(at);
  }
}

/** The bytes a varint of the unsigned 32-bit `v` takes. */
function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Encodes `s` as UTF-8 into `buf` at `pos` (room for 3 bytes per UTF-16 unit); returns the end. */
function utf8Short(s: string, buf: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
      buf[pos++] = 0xf0 | (c >> 18);
      buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      if ((c & 0xf800) === 0xd800) c = 0xfffd; // a lone surrogate
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}
