// 64-bit integers without BigInt on the common path: a value travels as its low and high 32
// bits (two's complement, each as an unsigned number) and comes out of decode as a Number
// (exact up to 2^53, rounded to the nearest double beyond).
import { ShapeError, wrongShape } from './shape';

const TWO32 = 4294967296;
const MIN = -(2 ** 63);
const LIMIT = 2 ** 64;
const MIN_BIG = -(2n ** 63n);
const LIMIT_BIG = 2n ** 64n;

/** The two 32-bit halves `split` fills (one shared pair: read them before the next call). */
export const bits = { lo: 0, hi: 0 };

/**
 * An init value of a 64-bit field, checked: a number (its fraction dropped), a bigint or a
 * decimal string, in [-2^63, 2^64) (negative values of unsigned fields wrap, as in Go).
 * Numbers stay numbers; bigints and strings become bigints, so values past 2^53 keep every bit.
 */
export function int64Init(name: string, value: unknown): number | bigint {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw wrongShape(name, 'a finite number', value);
    const v = Math.trunc(value);
    if (v < MIN || v >= LIMIT) throw new ShapeError(`${name}: ${value} is out of the 64-bit range`);
    return v === 0 ? 0 : v; // no -0
  }
  let big: bigint;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
  else throw wrongShape(name, 'an integer (number, bigint or decimal string)', value);
  if (big < MIN_BIG || big >= LIMIT_BIG) throw new ShapeError(`${name}: ${value} is out of the 64-bit range`);
  return big;
}

/** Sets `bits` to the two's-complement halves of `v` (an integer in [-2^63, 2^64)). */
export function split(v: number | bigint): void {
  if (typeof v === 'bigint') {
    const u = BigInt.asUintN(64, v);
    bits.lo = Number(u & 0xffffffffn);
    bits.hi = Number(u >> 32n);
    return;
  }
  const a = v < 0 ? -v : v;
  let lo = a >>> 0;
  let hi = ((a - lo) / TWO32) >>> 0;
  if (v < 0) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  bits.lo = lo;
  bits.hi = hi;
}

/** The number the halves `lo`, `hi` stand for, as a signed or an unsigned 64-bit integer. */
export function toNumber(lo: number, hi: number, signed: boolean): number {
  if (signed && hi >>> 31) {
    // Negative: the magnitude is the two's complement.
    const mlo = (~lo + 1) >>> 0;
    const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
    return -(mlo + mhi * TWO32);
  }
  return lo + hi * TWO32;
}

/** What decode gives for a checked init value (`int64Init`) once it went over the wire. */
export function decoded64(v: number | bigint, signed: boolean): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && (signed || v >= 0)) return v;
  split(v);
  return toNumber(bits.lo, bits.hi, signed);
}

/** Sets `bits` to the zigzag encoding (sint64) of the halves `lo`, `hi`. */
export function zigzag(lo: number, hi: number): void {
  const sign = hi >> 31;
  bits.hi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  bits.lo = ((lo << 1) ^ sign) >>> 0;
}

/** Sets `bits` to the halves a zigzag-encoded (sint64) `lo`, `hi` stand for. */
export function unzigzag(lo: number, hi: number): void {
  const sign = -(lo & 1);
  bits.lo = (((lo >>> 1) | (hi << 31)) ^ sign) >>> 0;
  bits.hi = ((hi >>> 1) ^ sign) >>> 0;
}
