/**
 * HPACK's Huffman code (RFC 7541, Appendix B), for decoding header strings. The code is
 * canonical: codes of one length are consecutive, in symbol order, after the shorter ones; so
 * the length of each symbol's code (0..255, then 256 = EOS) defines it completely.
 */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Each symbol's code, from the lengths (canonical order: by length, then symbol). Codes fit in 30 bits. */
function canonicalCodes(): Int32Array {
  const order = CODE_LENGTHS.map((length, symbol) => ({ length, symbol })).sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes = new Int32Array(CODE_LENGTHS.length);
  let code = 0;
  let prevLength = order[0]!.length;
  for (const [i, { length, symbol }] of order.entries()) {
    if (i > 0) code = (code + 1) << (length - prevLength);
    prevLength = length;
    codes[symbol] = code;
  }
  return codes;
}

/** The decoding tree: node n's children are at [2n] (bit 0) and [2n+1] (bit 1); a leaf is -1 - symbol, 0 no code. */
let tree: Int32Array | undefined;

function buildTree(): Int32Array {
  const codes = canonicalCodes();
  const nodes = new Int32Array(4 * CODE_LENGTHS.length);
  let next = 1; // node 0 is the root
  for (let symbol = 0; symbol < CODE_LENGTHS.length; symbol++) {
    const length = CODE_LENGTHS[symbol]!;
    const code = codes[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (nodes[slot] === 0) nodes[slot] = next++;
      node = nodes[slot]!;
    }
    nodes[2 * node + (code & 1)] = -1 - symbol;
  }
  return nodes;
}

/**
 * Decodes a Huffman-coded string. Throws on EOS inside the string, and on padding longer than
 * 7 bits or not all ones (RFC 7541, 5.2).
 */
export function huffmanDecode(input: Uint8Array): Buffer {
  tree ??= buildTree();
  const out: number[] = [];
  let node = 0;
  let depth = 0; // bits read since the last symbol
  let allOnes = true;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      allOnes &&= b === 1;
      const next = tree[2 * node + b]!;
      depth++;
      if (next < 0) {
        const symbol = -1 - next;
        if (symbol === EOS) throw new Error('HPACK: EOS in a Huffman-coded string');
        out.push(symbol);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new Error('HPACK: invalid Huffman code');
      } else node = next;
    }
  }
  if (depth > 7 || !allOnes) throw new Error('HPACK: invalid Huffman padding');
  return Buffer.from(out);
}

/** The Huffman code of `input`, padded with ones (our encoder sends raw strings; tests use this). */
export function huffmanEncode(input: Uint8Array): Buffer {
  const codes = canonicalCodes();
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of input) {
    const length = CODE_LENGTHS[byte]!;
    const code = codes[byte]!;
    for (let bit = length - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((code >>> bit) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}
