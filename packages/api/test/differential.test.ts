// The static codecs against the reflection codec they replace (test/reflection.ts): for every
// message type of the API, and of test/kitchen.proto (every field kind), seeded random
// messages must encode to the same bytes and decode and create to equal objects; and decoding
// truncated, corrupted or random bytes must either return or throw InvalidArgument.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { loadRoot } from '../../../tools/protogen/generate.mjs';
import * as api from '../src/index';
import type { MessageCodec } from '../src/runtime';
import { loadKitchen, testDir } from './kitchen';
import { Random, randomMessage } from './random';
import { reflectionCodec, type ReflectionCodec } from './reflection';

/** Thousands of messages per test: seconds on a quiet machine, more when CI runs suites side by side. */
const HEAVY_MS = 60_000;
const pkgDir = join(testDir, '..');
const SEED = 0x5eed;
const ROUNDS = 40;
const GARBAGE_ROUNDS = 20;

/**
 * Types the reflection codec gets wrong, tested on their own in static-codec.test.ts:
 * protobufjs keys decoded 64-bit map keys by an 8-character hash and writes a bool key "false"
 * as true.
 */
const NOT_COMPARABLE = new Set(['kitchen.OddMaps']);

type Codecs = Map<string, MessageCodec<unknown>>;

/** The codecs among a module namespace's exports (or a namespace of them), by type name. */
function codecsOf(namespaces: Record<string, unknown>): Codecs {
  const out: Codecs = new Map();
  for (const ns of Object.values(namespaces)) {
    for (const value of Object.values(ns as Record<string, unknown>)) {
      if (typeof value === 'object' && value !== null && 'typeName' in value && 'decode' in value) {
        const codec = value as MessageCodec<unknown>;
        out.set(codec.typeName, codec);
      }
    }
  }
  return out;
}

/** Every message type of `root`, nested ones included. */
function typesOf(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) out.push(obj);
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) out.push(...typesOf(obj));
  }
  return out;
}

/** The root the old runtime built: the loaded protos through JSON (`Root.fromJSON(descriptor)`). */
function reflectionRoot(protoRoot: string, files: string[]): protobuf.Root {
  const root = protobuf.Root.fromJSON(loadRoot(protoRoot, files).toJSON());
  root.resolveAll();
  return root;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Decoding `bytes` returns or throws InvalidArgument: nothing else. */
function expectSafeDecode(codec: MessageCodec<unknown>, bytes: Uint8Array): void {
  try {
    codec.decode(bytes);
  } catch (err) {
    if (kindOf(err) !== ErrorKind.InvalidArgument) {
      throw new Error(`decode ${codec.typeName} of ${hex(bytes)} threw ${String(err)}`, { cause: err });
    }
  }
}

function differential(name: string, load: () => { root: protobuf.Root; codecs: Codecs }): void {
  describe(name, () => {
    let pairs: { type: protobuf.Type; ours: MessageCodec<unknown>; old: ReflectionCodec }[] = [];
    beforeAll(() => {
      const { root, codecs } = load();
      pairs = typesOf(root)
        .filter((t) => !NOT_COMPARABLE.has(t.fullName.slice(1)))
        .map((type) => {
          const ours = codecs.get(type.fullName.slice(1));
          if (!ours) throw new Error(`${type.fullName}: no static codec`);
          return { type, ours, old: reflectionCodec(type) };
        });
    }, HEAVY_MS);

    it('has a static codec for every message type', () => {
      expect(pairs.length).toBeGreaterThan(0);
    });

    it('encodes, decodes and creates random messages as the reflection codec does', () => {
      const rnd = new Random(SEED);
      let compared = 0;
      for (const { type, ours, old } of pairs) {
        expect(ours.decode(new Uint8Array(0)), type.fullName).toEqual(old.decode(new Uint8Array(0)));
        expect(ours.create(), type.fullName).toEqual(old.create());
        for (let i = 0; i < ROUNDS; i++) {
          const init = randomMessage(rnd, type);
          const where = `${type.fullName} #${i}: ${JSON.stringify(init, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
          const bytes = old.encode(init);
          expect(hex(ours.encode(init as never)), where).toBe(hex(bytes));
          const decoded = ours.decode(bytes);
          expect(decoded, where).toEqual(old.decode(bytes));
          expect(ours.create(init as never), where).toEqual(old.create(init));
          expect(ours.create(init as never), where).toEqual(decoded);
          compared++;
        }
      }
      expect(compared).toBe(pairs.length * ROUNDS);
    }, HEAVY_MS);

    it('decodes truncated, corrupted and random bytes safely', () => {
      const rnd = new Random(SEED + 1);
      for (const { type, ours } of pairs) {
        for (let i = 0; i < GARBAGE_ROUNDS; i++) {
          const bytes = ours.encode(randomMessage(rnd, type) as never);
          if (bytes.length > 0) {
            expectSafeDecode(ours, bytes.subarray(0, rnd.int(bytes.length)));
            const flipped = bytes.slice();
            for (let j = 0; j < 3; j++) flipped[rnd.int(flipped.length)] ^= 1 << rnd.int(8);
            expectSafeDecode(ours, flipped);
          }
          expectSafeDecode(ours, rnd.bytes(rnd.int(64)));
        }
      }
    }, HEAVY_MS);
  });
}

differential('the API', () => {
  const config = JSON.parse(readFileSync(join(pkgDir, 'protogen.json'), 'utf8')) as { protoRoot: string; files: string[] };
  return {
    root: reflectionRoot(join(pkgDir, config.protoRoot), config.files),
    codecs: codecsOf(api as unknown as Record<string, unknown>),
  };
});

let kitchen: Codecs | undefined;

differential('test/kitchen.proto', () => ({ root: reflectionRoot(testDir, ['kitchen.proto']), codecs: kitchen! }));

beforeAll(async () => {
  kitchen = codecsOf(await loadKitchen('differential'));
}, HEAVY_MS);
