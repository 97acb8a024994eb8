// `create` without the bytes: each helper gives what decode would give for what encode writes
// (defaults for unset fields, the same coercions and the same shape errors). Generated code
// calls them as `$.scalar($.string, 'type', m.type)`.
import { messageImplOf } from './impl';
import { setEntry } from './reader';
import type { MessageCodec } from './runtime';
import type { Scalar } from './scalars';
import { arrayInit, mapInit, messageInit } from './shape';

/** A scalar field with implicit presence: its default when unset. */
export function scalar<T, I>(kind: Scalar<T, I>, name: string, value: unknown): T {
  if (value == null) return kind.zero;
  const v = kind.init(name, value);
  return kind.isZero(v) ? kind.zero : kind.decoded(v);
}

/** A scalar field with explicit presence: `undefined` when unset. */
export function optional<T, I>(kind: Scalar<T, I>, name: string, value: unknown): T | undefined {
  return value == null ? undefined : kind.decoded(kind.init(name, value));
}

/** A repeated scalar field (packed or not). */
export function repeated<T, I>(kind: Scalar<T, I>, name: string, value: unknown): T[] {
  if (value == null) return [];
  return arrayInit(name, value).map((element) => kind.decoded(kind.init(name, element)));
}

/** A singular message field: `undefined` when unset. */
export function message<T>(codec: MessageCodec<T>, name: string, value: unknown): T | undefined {
  return value == null ? undefined : messageImplOf(codec).create(messageInit(name, value) as never);
}

/** A repeated message field. */
export function messages<T>(codec: MessageCodec<T>, name: string, value: unknown): T[] {
  if (value == null) return [];
  const impl = messageImplOf(codec);
  return arrayInit(name, value).map((element) => impl.create(messageInit(name, element) as never));
}

/** A map field with scalar values. */
export function map<K, V, I>(key: Scalar<K, unknown>, val: Scalar<V, I>, name: string, value: unknown): Record<string, V> {
  const out: Record<string, V> = {};
  if (value == null) return out;
  const init = mapInit(name, value);
  for (const k of Object.keys(init)) {
    setEntry(out, key.key(key.decoded(key.fromKey(name, k)) as K), val.decoded(val.init(name, init[k])));
  }
  return out;
}

/** A map field with message values. */
export function messageMap<K, T>(key: Scalar<K, unknown>, codec: MessageCodec<T>, name: string, value: unknown): Record<string, T> {
  const out: Record<string, T> = {};
  if (value == null) return out;
  const init = mapInit(name, value);
  const impl = messageImplOf(codec);
  for (const k of Object.keys(init)) {
    setEntry(out, key.key(key.decoded(key.fromKey(name, k)) as K), impl.create(messageInit(name, init[k]) as never));
  }
  return out;
}
