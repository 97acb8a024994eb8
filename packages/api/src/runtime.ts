import protobuf from 'protobufjs/light.js';
import { invalidArgument } from '@berth/errdefs';
import { descriptor } from '../gen/descriptor';

/**
 * What a caller may pass for a message of type `T`: every field optional, at every depth
 * (arrays hold partial elements; `Uint8Array`s are taken as they are). Missing fields encode
 * as their proto3 defaults.
 */
export type MessageInit<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? MessageInit<U>[]
    : T extends object
      ? { [K in keyof T]?: MessageInit<T[K]> }
      : T;

/**
 * Encoder and decoder of one message type, generated beside its interface
 * (`CreateTaskRequest` is both the interface and its codec).
 *
 * - `decode` gives every scalar, repeated and map field with its proto3 default when absent
 *   (`''`, `0`, `false`, `[]`, `{}`, empty `Uint8Array`) and `undefined` for an absent singular
 *   message field; 64-bit integers come out as `number` (exact up to 2^53); `bytes` fields are
 *   plain `Uint8Array` views into the input (copy them to keep them past the input's reuse).
 *   Malformed bytes throw a `BerthError` of kind `InvalidArgument`.
 * - `encode` takes a partial message; a value of the wrong shape (a string where an array is
 *   expected, ...) throws `InvalidArgument`.
 * - `create` is what `decode(encode(init))` gives, without the bytes in between.
 */
export interface MessageCodec<T> {
  /** The proto full name, without a leading dot: `containerd.task.v2.CreateTaskRequest`. */
  readonly typeName: string;
  encode(init: MessageInit<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
  create(init?: MessageInit<T>): T;
}

/**
 * One rpc of a service. `ReqStream` and `ResStream` say whether each side is a stream of
 * messages, as the .proto's `stream` keyword does: both `false` for a unary rpc (the defaults,
 * so `MethodDefinition<Req, Res>` is a unary one), `false, true` for server streaming
 * (`Content/Read`), `true, false` for client streaming and `true, true` for bidirectional
 * streaming (`Content/Write`). The codecs are those of one message either way.
 */
export interface MethodDefinition<Req, Res, ReqStream extends boolean = false, ResStream extends boolean = false> {
  /** The rpc name as the .proto spells it: `State`. */
  readonly name: string;
  /** `/<service full name>/<name>`: `/containerd.task.v2.Task/State`. */
  readonly path: string;
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
  /** The client sends a stream of requests. */
  readonly requestStream: ReqStream;
  /** The server answers with a stream of responses. */
  readonly responseStream: ResStream;
}

/** Any method definition, unary or streaming (the constraint of a service's method map). */
export type AnyMethodDefinition = MethodDefinition<any, any, boolean, boolean>;

/**
 * A service: its proto full name and its rpcs, keyed by the lowerCamel rpc name
 * (`Task.methods.resizePty` is `ResizePty`).
 */
export interface ServiceDefinition<M extends Record<string, AnyMethodDefinition>> {
  /** The proto full name: `containerd.task.v2.Task`. */
  readonly name: string;
  readonly methods: M;
}

/** The request (message) type of a method definition, unary or streaming. */
export type RequestOf<D> = D extends MethodDefinition<infer Req, unknown, boolean, boolean> ? Req : never;
/** The response (message) type of a method definition, unary or streaming. */
export type ResponseOf<D> = D extends MethodDefinition<unknown, infer Res, boolean, boolean> ? Res : never;

const toObjectOptions: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
};

let root: protobuf.Root | undefined;

function lookup(typeName: string): protobuf.Type {
  root ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
  return root.lookupType(typeName);
}

/**
 * The codec of the message `typeName` (a proto full name in the generated descriptor). The
 * type is looked up on first use, so an unknown name throws then, not here. Used by generated
 * code.
 */
export function message<T>(typeName: string): MessageCodec<T> {
  let type: protobuf.Type | undefined;
  const resolve = (): protobuf.Type => (type ??= lookup(typeName));
  const fromInit = (init: MessageInit<T> | undefined): protobuf.Message => {
    try {
      return dropImplicitDefaults(resolve(), resolve().fromObject((init ?? {}) as Record<string, unknown>));
    } catch (err) {
      throw invalidArgument(`${typeName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  return {
    typeName,
    encode(init) {
      return plainBytes(resolve().encode(fromInit(init)).finish());
    },
    decode(bytes) {
      const t = resolve();
      let decoded: protobuf.Message;
      try {
        decoded = t.decode(bytes);
      } catch (err) {
        throw invalidArgument(`decode ${typeName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      return normalize(t, t.toObject(decoded, toObjectOptions)) as T;
    },
    create(init) {
      const t = resolve();
      return normalize(t, t.toObject(fromInit(init), toObjectOptions)) as T;
    },
  };
}

/** A method as generated code spells it: `path` is derived by `service`. */
export type MethodSpec = Omit<AnyMethodDefinition, 'path'>;

type CodecOf<C> = C extends MessageCodec<infer T> ? T : never;

/**
 * A service definition from its rpcs (each without `path`, which is derived from the service
 * and rpc names). The stream flags keep their literal types (`const`), so a unary rpc comes
 * out as `MethodDefinition<Req, Res>`. Used by generated code.
 */
export function service<const P extends Record<string, MethodSpec>>(
  name: string,
  methods: P,
): ServiceDefinition<{
  [K in keyof P]: MethodDefinition<
    CodecOf<P[K]['requestType']>,
    CodecOf<P[K]['responseType']>,
    P[K]['requestStream'],
    P[K]['responseStream']
  >;
}> {
  const defs: Record<string, AnyMethodDefinition> = {};
  for (const [key, m] of Object.entries(methods)) {
    defs[key] = Object.freeze({ ...m, path: `/${name}/${m.name}` });
  }
  return Object.freeze({ name, methods: Object.freeze(defs) }) as never;
}

/**
 * proto3 does not put a scalar with implicit presence on the wire when it holds its default,
 * but protobufjs writes any field that is set, so `{ id: '' }` would encode differently from
 * `{}` (and from what protoc-generated code sends). Unset such fields, recursively, on the
 * message `fromObject` built.
 */
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
  // 64-bit integers are Longs after fromObject.
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    return (value as { low: number; high: number }).low === 0 && (value as { low: number; high: number }).high === 0;
  }
  return false;
}

/**
 * Fixes what `toObject` leaves in protobufjs's shape: unset singular message fields are `null`
 * (we want `undefined`), `bytes` are Node Buffers (we want plain Uint8Arrays, so values compare
 * equal to the ones callers build) and repeated fields come first (we want declaration order).
 */
function normalize(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (value == null) {
      // Unset singular message fields are present as undefined; unset oneof members absent.
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

/** Applies `fn` to a field's value: each element of a repeated field, each value of a map. */
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
