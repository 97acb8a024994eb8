// What the differential test cannot show: shape checks the reflection codec did not make
// (it coerced), malformed input it never saw, and the static codec's own edges (map keys,
// nesting depth, large records, a writer reused across calls).
import { beforeAll, describe, expect, it } from 'vitest';
import { BerthError, ErrorKind, kindOf } from '@berth/errdefs';
import { protobuf, task, ttrpc, types } from '../src/index';
import type { MessageCodec } from '../src/runtime';
import { loadKitchen } from './kitchen';

type Codec = MessageCodec<Record<string, unknown>>;
let k: Record<string, Codec>;

beforeAll(async () => {
  k = (await loadKitchen('static-codec')).kitchen as Record<string, Codec>;
}, 60_000);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect(kindOf(err)).toBe(ErrorKind.InvalidArgument);
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('encode rejects values of the wrong shape', () => {
  it.each([
    ['a number for a string', { id: 5 }],
    ['an object for a string', { id: {} }],
    ['a string for a bool', { terminal: 'false' }],
    ['a number for a bool', { terminal: 1 }],
    ['a string for an array', { rootfs: 'nope' }],
    ['null in a repeated message field', { rootfs: [null] }],
    ['an array for a message', { options: [] }],
    ['a string for a message', { options: 'x' }],
    ['a string for bytes', { options: { value: 'AQI=' } }],
    ['a number in a repeated string', { rootfs: [{ options: [1] }] }],
  ])('%s', (_what, init) => {
    const message = invalid(() => task.CreateTaskRequest.encode(init as never));
    expect(message).toMatch(/^containerd\.task\.v2\.CreateTaskRequest: /);
    invalid(() => task.CreateTaskRequest.create(init as never));
  });

  it.each([
    ['a string', '7'],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a bigint', 7n],
  ])('rejects %s for a uint32', (_what, pid) => {
    expect(invalid(() => task.StateResponse.encode({ pid } as never))).toContain('pid: a finite number expected');
  });

  it('rejects map values of the wrong type, arrays and Maps for maps', () => {
    invalid(() => types.Descriptor.encode({ annotations: { a: 1 } } as never));
    invalid(() => types.Descriptor.encode({ annotations: { a: undefined } } as never));
    invalid(() => types.Descriptor.encode({ annotations: ['a'] } as never));
    invalid(() => types.Descriptor.encode({ annotations: new Map([['a', 'b']]) } as never));
  });

  it('rejects 64-bit values out of range or not integers', () => {
    invalid(() => ttrpc.Request.encode({ timeoutNano: 2 ** 64 }));
    invalid(() => ttrpc.Request.encode({ timeoutNano: -(2 ** 63) - 4096 }));
    invalid(() => ttrpc.Request.encode({ timeoutNano: 'abc' } as never));
    invalid(() => ttrpc.Request.encode({ timeoutNano: 2n ** 64n } as never));
    invalid(() => ttrpc.Request.encode({ timeoutNano: true } as never));
  });

  it('rejects a top-level init that is not an object, and bytes that are not a Uint8Array', () => {
    invalid(() => task.StateRequest.encode('x' as never));
    invalid(() => task.StateRequest.decode('0a00' as never));
    expect(task.StateRequest.encode(null as never)).toEqual(new Uint8Array(0));
  });
});

describe('numbers', () => {
  it('keeps every bit of 64-bit bigints and decimal strings, truncates fractions', () => {
    expect(hex(ttrpc.Request.encode({ timeoutNano: 2n ** 60n + 1n } as never))).toBe('20818080808080808010');
    expect(hex(ttrpc.Request.encode({ timeoutNano: '5000000000' } as never))).toBe('2080e497d012');
    expect(ttrpc.Request.create({ timeoutNano: 1.9 }).timeoutNano).toBe(1);
    expect(ttrpc.Request.create({ timeoutNano: -0 }).timeoutNano).toBe(0);
  });

  it('wraps negative unsigned values and decodes 2^64-1 as a rounded number', () => {
    const bytes = k.Scalars.encode({ u64: -1 });
    expect(hex(bytes)).toBe('30ffffffffffffffffff01');
    expect(k.Scalars.decode(bytes).u64).toBe(2 ** 64);
    expect(k.Scalars.create({ u64: -1 }).u64).toBe(2 ** 64);
    expect(types.Descriptor.decode(types.Descriptor.encode({ size: -1 })).size).toBe(-1);
  });

  it('writes negative int32 and enum values as ten bytes and reads them back', () => {
    const bytes = k.Scalars.encode({ i32: -1, color: -2 });
    expect(hex(bytes)).toBe('18ffffffffffffffffff01' + '80' + '01feffffffffffffffff01');
    expect(k.Scalars.decode(bytes)).toMatchObject({ i32: -1, color: -2 });
  });

  it('wraps 32-bit values as protobufjs did', () => {
    expect(k.Scalars.create({ i32: 2 ** 32 + 5, u32: -1, f: 0.1 })).toMatchObject({ i32: 5, u32: 2 ** 32 - 1, f: Math.fround(0.1) });
  });
});

describe('maps', () => {
  it('round-trips 64-bit and bool keys as decimal and true/false strings', () => {
    const init = {
      i64: { '-5': 'a', '9007199254740993': 'b' },
      b: { true: 1, false: 2 },
      u64: { '18446744073709551615': { s: 'x' } },
      s64: { '-9223372036854775808': 'min' },
    };
    const bytes = k.OddMaps.encode(init);
    const decoded = k.OddMaps.decode(bytes);
    expect(decoded.i64).toEqual({ '-5': 'a', '9007199254740992': 'b' });
    expect(decoded.b).toEqual({ true: 1, false: 2 });
    expect(Object.keys(decoded.u64 as object)).toEqual(['18446744073709552000']);
    expect(decoded.s64).toEqual({ '-9223372036854776000': 'min' });
    expect(k.OddMaps.create(init)).toEqual(decoded);
    // false is on the wire as 0 (protobufjs wrote 1).
    expect(hex(k.OddMaps.encode({ b: { false: 2 } }))).toBe('1204' + '0800' + '1002');
    invalid(() => k.OddMaps.encode({ b: { yes: 1 } }));
    invalid(() => k.OddMaps.encode({ i64: { x: 'a' } }));
  });

  it('gives absent entry parts their defaults and keeps a __proto__ key as a key', () => {
    // labels entries {} and {key "__proto__"}; a Scalars-valued entry without its value.
    const d = types.Descriptor.decode(unhex('2a00 2a0b 0a095f5f70726f746f5f5f'));
    expect(Object.keys(d.annotations)).toEqual(['', '__proto__']);
    expect(Object.getPrototypeOf(d.annotations)).toBe(Object.prototype);
    const m = k.Maps.decode(unhex('3203 0a0178'));
    expect(m.sm).toEqual({ x: k.Scalars.create() });
    const back = types.Descriptor.decode(types.Descriptor.encode({ annotations: d.annotations }));
    expect(Object.keys(back.annotations)).toEqual(['', '__proto__']);
  });
});

describe('decode', () => {
  it.each([
    ['field number 0', '0000'],
    ['wire type 6', '0e'],
    ['wire type 7', '0f'],
    ['an end group without a start', '0c'],
    ['an unterminated group', '0b'],
    ['a mismatched end group', '0b14'],
    ['a varint longer than ten bytes', '08ffffffffffffffffffff01'],
    ['a length past the end', '0a05616263'],
    ['a huge length', '0affffffff0f'],
    ['a nested field past its message', '1a02 0a05 6162636465'],
    ['a truncated fixed64', '5101020304'],
  ])('rejects %s', (_what, bytes) => {
    invalid(() => k.Node.decode(unhex(bytes)));
  });

  it('skips unknown fields of every wire type, groups included', () => {
    const unknown = '9806 01' + 'a106 0102030405060708' + 'aa06 03616263' + 'ad06 01020304' + 'b306 0801 b406';
    expect(k.Node.decode(unhex(`${unknown}0a016e`))).toEqual(k.Node.create({ name: 'n' }));
  });

  it('fails on messages nested deeper than 100 instead of overflowing the stack', () => {
    let bytes = new Uint8Array(0);
    for (let i = 0; i < 150; i++) bytes = new Uint8Array([...k.Node.encode({ parent: {} }).subarray(0, 1), ...lengthOf(bytes.length), ...bytes]);
    expect(invalid(() => k.Node.decode(bytes))).toMatch(/nested deeper than 100/);
  });

  it('gives bytes as plain Uint8Array views, also from a Buffer', () => {
    const input = Buffer.from(k.Scalars.encode({ by: Uint8Array.of(1, 2, 3) }));
    const { by } = k.Scalars.decode(input) as { by: Uint8Array };
    expect(by.constructor).toBe(Uint8Array);
    expect(by.buffer).toBe(input.buffer);
    expect([...by]).toEqual([1, 2, 3]);
  });

  it('takes the largest field number', () => {
    const bytes = k.Node.encode({ largestNumber: 7 });
    expect(hex(bytes)).toBe('f8ffffff0f07');
    expect(k.Node.decode(bytes).largestNumber).toBe(7);
  });

  it('decodes malformed UTF-8 with replacement characters', () => {
    expect(types.Platform.decode(unhex('0a03 61ff62')).os).toBe('a\ufffdb');
  });
});

describe('encode', () => {
  it('writes long strings and large nested records with multi-byte lengths', () => {
    const long = 'é'.repeat(100_000);
    const init = { name: 'x'.repeat(200), children: [{ name: long, scalars: { by: new Uint8Array(70_000).fill(7) } }] };
    const decoded = k.Node.decode(k.Node.encode(init));
    expect(decoded).toEqual(k.Node.create(init));
    expect((decoded.children as { name: string }[])[0].name).toBe(long);
  });

  it('writes a lone surrogate as U+FFFD', () => {
    expect(types.Platform.decode(types.Platform.encode({ os: 'a\ud800b' })).os).toBe('a\ufffdb');
    expect(types.Platform.decode(types.Platform.encode({ os: `${'a'.repeat(50)}\udc00` })).os).toBe(`${'a'.repeat(50)}\ufffd`);
  });

  it('returns a fresh buffer each call, also when a getter encodes meanwhile', () => {
    const init = {
      get id() {
        task.StateRequest.encode({ id: 'inner' });
        return 'outer';
      },
    };
    const a = task.StateRequest.encode(init);
    const b = task.StateRequest.encode({ id: 'b' });
    expect(task.StateRequest.decode(a).id).toBe('outer');
    expect(task.StateRequest.decode(b).id).toBe('b');
  });

  it('works with its methods unbound', () => {
    const { encode, decode, create } = protobuf.Timestamp;
    expect(decode(encode({ seconds: 3 }))).toEqual(create({ seconds: 3 }));
  });

  it('writes oneof members and optional fields set to their defaults', () => {
    expect(hex(k.Presence.encode({ oi: 0, os: '', ci: 0 }))).toBe('0800' + '1200' + '5800');
    expect(k.Presence.decode(unhex('0800'))).toEqual({ oi: 0, plain: '', after: false });
    expect(k.Presence.create({ cm: {} })).toEqual({ plain: '', cm: k.Scalars.create(), after: false });
  });
});

function lengthOf(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
