// The protobuf wire format, reading side. Every read is bounds-checked: malformed input throws
// `ShapeError` (turned into InvalidArgument by the codec), never reads past the input, and
// nesting deeper than MAX_DEPTH fails instead of exhausting the stack.
import { messageImplOf } from './impl';
import { bits, toNumber, unzigzag } from './int64';
import type { MessageCodec } from './runtime';
import type { Scalar } from './scalars';
import { ShapeError } from './shape';
import { WireType } from './writer';

/** How deep messages (and groups) may nest, as in protoc's parsers. */
const MAX_DEPTH = 100;
/** Strings up to this many bytes are decoded by hand when they are ASCII. */
const SHORT_STRING = 32;

let decoder: InstanceType<typeof TextDecoder> | undefined;

/** The bytes of one message being decoded. */
export class Reader {
  readonly buf: Uint8Array;
  readonly len: number;
  pos = 0;
  private depth = 0;
  private view: DataView | undefined;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.len = buf.length;
  }

  /** Throws the error of malformed input, with where it is. */
  fail(what: string): never {
    throw new ShapeError(`${what} (at byte ${this.pos})`);
  }

  /** The next byte. */
  private byte(): number {
    if (this.pos >= this.len) this.fail('truncated varint');
    return this.buf[this.pos++];
  }

  /** A varint of up to ten bytes into `bits`. */
  private varint(): void {
    let lo = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        bits.lo = lo >>> 0;
        bits.hi = 0;
        return;
      }
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) this.fail('varint longer than ten bytes');
        b = this.byte();
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    bits.lo = lo >>> 0;
    bits.hi = hi >>> 0;
  }

  /** A varint as an unsigned 32-bit number (its low 32 bits). */
  uint32(): number {
    if (this.pos < this.len && this.buf[this.pos] < 0x80) return this.buf[this.pos++];
    this.varint();
    return bits.lo;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const v = this.uint32();
    return ((v >>> 1) ^ -(v & 1)) | 0;
  }

  bool(): boolean {
    if (this.pos < this.len && this.buf[this.pos] < 0x80) return this.buf[this.pos++] !== 0;
    this.varint();
    return bits.lo !== 0 || bits.hi !== 0;
  }

  int64(): number {
    this.varint();
    return toNumber(bits.lo, bits.hi, true);
  }

  uint64(): number {
    this.varint();
    return toNumber(bits.lo, bits.hi, false);
  }

  sint64(): number {
    this.varint();
    unzigzag(bits.lo, bits.hi);
    return toNumber(bits.lo, bits.hi, true);
  }

  fixed32(): number {
    const pos = this.advance(4);
    const buf = this.buf;
    return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  }

  sfixed32(): number {
    return this.fixed32() | 0;
  }

  fixed64(): number {
    const lo = this.fixed32();
    return toNumber(lo, this.fixed32(), false);
  }

  sfixed64(): number {
    const lo = this.fixed32();
    return toNumber(lo, this.fixed32(), true);
  }

  double(): number {
    const pos = this.advance(8);
    return this.dataView().getFloat64(pos, true);
  }

  float(): number {
    const pos = this.advance(4);
    return this.dataView().getFloat32(pos, true);
  }

  /** A length-delimited field's bytes: a plain `Uint8Array` view into the input. */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    if (end === start) return new Uint8Array(0);
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }

  /** A length-delimited UTF-8 string (malformed sequences become U+FFFD). */
  string(): string {
    const end = this.lengthEnd();
    const buf = this.buf;
    let pos = this.pos;
    if (end - pos <= SHORT_STRING) {
      let s = '';
      while (pos < end && buf[pos] < 0x80) s += String.fromCharCode(buf[pos++]);
      if (pos === end) {
        this.pos = end;
        return s;
      }
      pos = this.pos;
    }
    decoder ??= new TextDecoder();
    this.pos = end;
    return decoder.decode(buf.subarray(pos, end));
  }

  /** A tag (field number and wire type); field number 0 is malformed. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) this.fail('field number 0');
    return tag;
  }

  /** Reads a length and checks it fits; returns where the record ends. */
  lengthEnd(): number {
    let len: number;
    if (this.pos < this.len && this.buf[this.pos] < 0x80) {
      len = this.buf[this.pos++];
    } else {
      this.varint();
      if (bits.hi !== 0) this.fail('length too large');
      len = bits.lo;
    }
    if (len > this.len - this.pos) this.fail(`length ${len} past the end`);
    return this.pos + len;
  }

  /** Skips the field whose tag was just read (an unknown field). */
  skip(tag: number): void {
    switch (tag & 7) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.Len:
        this.pos = this.lengthEnd();
        return;
      case WireType.StartGroup:
        return this.skipGroup(tag >>> 3);
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        this.fail(`wire type ${tag & 7}`);
    }
  }

  private skipGroup(field: number): void {
    this.enter();
    for (;;) {
      if (this.pos >= this.len) this.fail('unterminated group');
      const tag = this.tag();
      if ((tag & 7) === WireType.EndGroup) {
        if (tag >>> 3 !== field) this.fail('mismatched end of group');
        break;
      }
      this.skip(tag);
    }
    this.depth--;
  }

  /** Checks that a message being read ended exactly at `end`. */
  end(end: number): void {
    if (this.pos !== end) this.fail('field past the end of its message');
  }

  // --- fields (what generated code calls) -----------------------------------------------

  /** A length-delimited message of type `codec`. */
  message<T>(codec: MessageCodec<T>): T {
    const end = this.lengthEnd();
    this.enter();
    const value = messageImplOf(codec).read(this, end);
    this.end(end);
    this.depth--;
    return value;
  }

  /** The elements of a packed repeated field, appended to `list`. */
  packed<T>(list: T[], kind: Scalar<T, unknown>): void {
    const end = this.lengthEnd();
    while (this.pos < end) list.push(kind.read(this));
    this.end(end);
  }

  /** A map entry `{ key = 1; value = 2 }` with a scalar value, set in `map` (absent parts are defaults). */
  entry<K, V>(map: Record<string, V>, key: Scalar<K, unknown>, value: Scalar<V, unknown>): void {
    const end = this.lengthEnd();
    const keyTag = (1 << 3) | key.wireType;
    const valueTag = (2 << 3) | value.wireType;
    let k = key.zero;
    let v = value.zero;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === keyTag) k = key.read(this);
      else if (tag === valueTag) v = value.read(this);
      else this.skip(tag);
    }
    this.end(end);
    setEntry(map, key.key(k), v);
  }

  /** A map entry with a message value (an absent value is the empty message). */
  messageEntry<K, T>(map: Record<string, T>, key: Scalar<K, unknown>, codec: MessageCodec<T>): void {
    const end = this.lengthEnd();
    const keyTag = (1 << 3) | key.wireType;
    let k = key.zero;
    let v: T | undefined;
    while (this.pos < end) {
      const tag = this.tag();
      if (tag === keyTag) k = key.read(this);
      else if (tag === ((2 << 3) | WireType.Len)) v = this.message(codec);
      else this.skip(tag);
    }
    this.end(end);
    setEntry(map, key.key(k), v ?? messageImplOf(codec).create({} as never));
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`messages nested deeper than ${MAX_DEPTH}`);
  }

  /** Moves past `n` bytes, checking they are there; returns where they start. */
  private advance(n: number): number {
    const pos = this.pos;
    if (n > this.len - pos) this.fail('truncated field');
    this.pos = pos + n;
    return pos;
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
}

/** Sets a decoded map entry; `__proto__` is a key like any other. */
export function setEntry<V>(map: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}
