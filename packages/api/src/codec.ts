import { invalidArgument } from '@berth/errdefs';
import { IMPL, type MessageImpl } from './impl';
import { Reader } from './reader';
import type { MessageCodec, MessageInit } from './runtime';
import { messageInit, wrongShape } from './shape';
import { Writer } from './writer';

/** Writers up to this size are kept for the next encode. */
const KEEP_WRITER = 64 * 1024;

let spare: Writer | undefined;

/**
 * The codec of one message type around its generated functions: `encode` and `create` check
 * the init, `decode` checks the bytes, and anything wrong comes out as a `BerthError` of kind
 * `InvalidArgument` naming the type. Used by generated code.
 */
export function codec<T>(typeName: string, impl: MessageImpl<T>): MessageCodec<T> {
  const codec = {
    typeName,
    encode(init: MessageInit<T>): Uint8Array {
      // One writer is reused across calls; a nested call (from a getter) gets its own.
      const w = spare ?? new Writer();
      spare = undefined;
      w.pos = 0;
      // A writer that grew large is let go (its bytes returned as a view) rather than kept.
      let keep = true;
      try {
        impl.write(w, topInit(init));
      } catch (err) {
        throw invalidArgument(`${typeName}: ${errorText(err)}`, { cause: err });
      } finally {
        keep = w.buf.length <= KEEP_WRITER;
        if (keep) spare = w;
      }
      return w.finish(keep);
    },
    decode(bytes: Uint8Array): T {
      try {
        if (!(bytes instanceof Uint8Array)) throw wrongShape('input', 'a Uint8Array', bytes);
        const r = new Reader(bytes);
        return impl.read(r, r.len);
      } catch (err) {
        throw invalidArgument(`decode ${typeName}: ${errorText(err)}`, { cause: err });
      }
    },
    create(init?: MessageInit<T>): T {
      try {
        return impl.create(topInit(init));
      } catch (err) {
        throw invalidArgument(`${typeName}: ${errorText(err)}`, { cause: err });
      }
    },
    [IMPL]: impl,
  };
  return codec;
}

/** A top-level init: `undefined` and `null` are the empty message. */
function topInit<T>(init: MessageInit<T> | undefined): MessageInit<T> {
  return (init == null ? {} : messageInit('message', init)) as MessageInit<T>;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
