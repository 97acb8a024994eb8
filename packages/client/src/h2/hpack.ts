import { huffmanDecode } from './huffman';

/**
 * HPACK (RFC 7541) as a gRPC client needs it: a complete decoder (static and dynamic tables,
 * every representation, Huffman strings) for what the server sends, and an encoder that writes
 * every field as a literal without indexing (raw strings, a static-table name where there is
 * one), so that it keeps no state the server must mirror.
 */

/** A header block as a list of fields, in order. */
export type HeaderField = [name: string, value: string];

/** RFC 7541, Appendix A. */
const STATIC_TABLE: HeaderField[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** The first static index of each name (for the encoder). */
const STATIC_NAME_INDEX = new Map<string, number>();
for (const [i, [name]] of STATIC_TABLE.entries()) if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);

/** A malformed header block: the connection cannot go on (COMPRESSION_ERROR). */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/**
 * The decoder of one connection: its dynamic table lives as long as the connection, and header
 * blocks must be decoded in the order they arrived.
 */
export class HpackDecoder {
  /** Newest first, as HPACK indexes it. */
  #dynamic: HeaderField[] = [];
  #size = 0;
  #maxSize: number;
  /** The most the peer may set the table to (our SETTINGS_HEADER_TABLE_SIZE). */
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
    this.#maxSize = limit;
  }

  /** Decodes one complete header block (HEADERS plus its CONTINUATIONs). */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let at = 0;
    const integer = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let value = block[at++]! & mask;
      if (value < mask) return value;
      let shift = 0;
      for (;;) {
        if (at >= block.length) throw new HpackError('HPACK: truncated integer');
        const b = block[at++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
        if (shift > 28) throw new HpackError('HPACK: integer too large');
      }
      return value;
    };
    const string = (): string => {
      if (at >= block.length) throw new HpackError('HPACK: truncated string');
      const huffman = (block[at]! & 0x80) !== 0;
      const length = integer(7);
      if (at + length > block.length) throw new HpackError('HPACK: truncated string');
      const bytes = block.subarray(at, at + length);
      at += length;
      try {
        return (huffman ? huffmanDecode(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1');
      } catch (err) {
        throw new HpackError((err as Error).message);
      }
    };
    while (at < block.length) {
      const b = block[at]!;
      if (b & 0x80) {
        fields.push(this.#entry(integer(7)));
      } else if (b & 0x40) {
        const index = integer(6);
        const name = index === 0 ? string() : this.#entry(index)[0];
        const field: HeaderField = [name, string()];
        this.#insert(field);
        fields.push(field);
      } else if (b & 0x20) {
        if (fields.length > 0) throw new HpackError('HPACK: table size update after a field');
        const size = integer(5);
        if (size > this.#limit) throw new HpackError(`HPACK: table size ${size} over the limit ${this.#limit}`);
        this.#maxSize = size;
        this.#evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): 4-bit name index.
        const index = integer(4);
        const name = index === 0 ? string() : this.#entry(index)[0];
        fields.push([name, string()]);
      }
    }
    return fields;
  }

  #entry(index: number): HeaderField {
    if (index === 0) throw new HpackError('HPACK: index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const entry = this.#dynamic[index - STATIC_TABLE.length - 1];
    if (!entry) throw new HpackError(`HPACK: index ${index} out of range`);
    return entry;
  }

  #insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + 32;
    this.#evict(size);
    if (size <= this.#maxSize) {
      this.#dynamic.unshift(field);
      this.#size += size;
    }
  }

  /** Drops the oldest entries until `room` more octets fit. */
  #evict(room: number): void {
    while (this.#dynamic.length > 0 && this.#size + room > this.#maxSize) {
      const [name, value] = this.#dynamic.pop()!;
      this.#size -= name.length + value.length + 32;
    }
  }
}

/** Encodes a header block: each field a literal without indexing, raw strings. */
export function encodeHeaders(fields: Iterable<HeaderField>): Buffer {
  const out: number[] = [];
  const integer = (value: number, prefixBits: number, first: number): void => {
    const mask = (1 << prefixBits) - 1;
    if (value < mask) {
      out.push(first | value);
      return;
    }
    out.push(first | mask);
    let rest = value - mask;
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
  };
  const string = (s: string): void => {
    const bytes = Buffer.from(s, 'latin1');
    integer(bytes.length, 7, 0);
    for (const b of bytes) out.push(b);
  };
  for (const [name, value] of fields) {
    const index = STATIC_NAME_INDEX.get(name);
    if (index !== undefined) integer(index, 4, 0);
    else {
      out.push(0);
      string(name);
    }
    string(value);
  }
  return Buffer.from(out);
}
