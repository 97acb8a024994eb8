import type { Reader } from './reader';
import type { MessageCodec, MessageInit } from './runtime';
import type { Writer } from './writer';

/** Where a codec keeps its generated functions (not part of `MessageCodec`). */
export const IMPL: unique symbol = Symbol('berth.api.message');

/** The generated functions of one message type. */
export interface MessageImpl<T> {
  /** Writes the set fields of `m` in field-number order (no length: the caller frames it). */
  write(w: Writer, m: MessageInit<T>): void;
  /** Reads fields up to `end` into a message with every field at its default unless read. */
  read(r: Reader, end: number): T;
  /** What `read` would give for what `write` writes. */
  create(m: MessageInit<T>): T;
}

/** The generated functions behind a codec `codec()` made. */
export function messageImplOf<T>(codec: MessageCodec<T>): MessageImpl<T> {
  return (codec as MessageCodec<T> & { [IMPL]: MessageImpl<T> })[IMPL];
}
