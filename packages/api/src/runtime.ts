// What generated code builds on: the public types of codecs and services, `service()`, and
// (re-exported below) the static codec machinery each generated message uses: `codec()`, the
// scalar types and the `create` helpers. Generated modules import it
// as `$`.

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
 *   message field; oneof members and proto3 `optional` fields are left out when absent.
 *   64-bit integers come out as `number` (exact up to 2^53); enums as numbers; `bytes` fields
 *   are plain `Uint8Array` views into the input (copy them to keep them past the input's
 *   reuse). Unknown fields are skipped. Malformed bytes throw a `BerthError` of kind
 *   `InvalidArgument`.
 * - `encode` takes a partial message and writes fields in field-number order, leaving scalars
 *   at their default off the wire (those with presence are written whenever set); repeated
 *   numbers are packed. 64-bit fields take a number, a bigint or a decimal string. A value of
 *   the wrong shape (a string where an array is expected, a non-number for an int, ...)
 *   throws `InvalidArgument`.
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

export { codec } from './codec';
export { bool, bytes, double, enumeration, fixed32, fixed64, float, int32, int64, sfixed32, sfixed64, sint32, sint64, string, uint32, uint64 } from './scalars';
export { map, message, messageMap, messages, optional, repeated, scalar } from './create';
