import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder } from './hpack';
import { huffmanDecode, huffmanEncode } from './huffman';

// HPACK against the examples of RFC 7541, Appendix C (the hex dumps and the header lists they encode).
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('Huffman code', () => {
  it('decodes and encodes the RFC examples', () => {
    const cases: [string, string][] = [
      ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
      ['no-cache', 'a8eb 1064 9cbf'],
      ['custom-key', '25a8 49e9 5ba9 7d7f'],
      ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
      ['private', 'aec3 771a 4b'],
    ];
    for (const [text, code] of cases) {
      expect(huffmanDecode(hex(code)).toString()).toBe(text);
      expect(huffmanEncode(Buffer.from(text)).toString('hex')).toBe(hex(code).toString('hex'));
    }
  });

  it('round-trips every byte value, and refuses bad padding', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(huffmanDecode(huffmanEncode(all)).equals(all)).toBe(true);
    // 'a' is 00011 (5 bits): three padding bits must be ones.
    expect(huffmanDecode(Buffer.from([0b00011111])).toString()).toBe('a');
    expect(() => huffmanDecode(Buffer.from([0b00011000]))).toThrow(/padding/);
    // A whole byte of ones is padding longer than 7 bits.
    expect(() => huffmanDecode(Buffer.from([0b00011111, 0xff]))).toThrow(/padding/);
  });
});

describe('HPACK decoder', () => {
  const request1: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  const request2: [string, string][] = [...request1, ['cache-control', 'no-cache']];
  const request3: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ];

  it('decodes requests without Huffman coding, through the dynamic table (C.3)', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))).toEqual(request1);
    expect(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))).toEqual(request2);
    expect(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))).toEqual(request3);
  });

  it('decodes requests with Huffman coding (C.4)', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))).toEqual(request1);
    expect(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))).toEqual(request2);
    expect(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))).toEqual(request3);
  });

  it('decodes responses with Huffman coding, evicting from a 256-octet table (C.6)', () => {
    const d = new HpackDecoder(256);
    const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
    const location = 'https://www.example.com';
    expect(d.decode(hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3'))).toEqual([
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ]);
    // ':status: 307' evicts ':status: 302'; the rest comes from the table.
    expect(d.decode(hex('4883 640e ffc1 c0bf'))).toEqual([
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ]);
    expect(
      d.decode(hex('88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07')),
    ).toEqual([
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', location],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ]);
  });

  it('refuses a truncated block and an index past the tables', () => {
    expect(() => new HpackDecoder().decode(hex('41 0f77 77'))).toThrow(/truncated/);
    expect(() => new HpackDecoder().decode(hex('be'))).toThrow(/out of range/);
  });

  it('reads back what the encoder writes (static names and new ones, long values)', () => {
    const fields: [string, string][] = [
      [':method', 'POST'],
      [':path', '/containerd.services.tasks.v1.Tasks/Create'],
      ['content-type', 'application/grpc'],
      ['containerd-namespace', 'default'],
      ['x-long', 'v'.repeat(300)],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(fields))).toEqual(fields);
  });
});
