import { describe, expect, it } from 'vitest';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { FrameReader, HEADER_LENGTH, MAX_DATA_LENGTH, MessageType, decodeHeader, encodeFrame, encodeHeader, type Frame } from './frame';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const frame = (streamId: number, text: string, type: number = MessageType.Request): Frame => ({
  streamId,
  type,
  flags: 0,
  data: new TextEncoder().encode(text),
});

describe('header', () => {
  it('is length, stream id (big-endian uint32), type, flags', () => {
    const h = encodeHeader({ length: 0x0102, streamId: 0x0a0b0c0d, type: 2, flags: 4 });
    expect(hex(h)).toBe('00000102' + '0a0b0c0d' + '02' + '04');
    expect(decodeHeader(h)).toEqual({ length: 0x0102, streamId: 0x0a0b0c0d, type: 2, flags: 4 });
  });

  it('reads a header at an offset inside a larger buffer', () => {
    const buf = Buffer.concat([Buffer.from([9, 9, 9]), encodeHeader({ length: 7, streamId: 3, type: 1, flags: 0 })]);
    expect(decodeHeader(buf.subarray(3))).toEqual({ length: 7, streamId: 3, type: 1, flags: 0 });
  });

  it('encodes a frame as header then data', () => {
    expect(hex(encodeFrame(frame(1, 'hi')))).toBe('00000002' + '00000001' + '01' + '00' + '6869');
  });
});

describe('FrameReader', () => {
  const wire = Buffer.concat([encodeFrame(frame(1, 'first')), encodeFrame(frame(3, '')), encodeFrame(frame(5, 'third one'))]);
  const expected = [frame(1, 'first'), frame(3, ''), frame(5, 'third one')];

  it('reads frames coalesced in one chunk', () => {
    expect(new FrameReader().push(wire)).toEqual(expected);
  });

  it('reads frames split byte by byte', () => {
    const reader = new FrameReader();
    const got: Frame[] = [];
    for (const byte of wire) got.push(...reader.push(Uint8Array.of(byte)));
    expect(got).toEqual(expected);
  });

  it('reads frames split at every possible point', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const reader = new FrameReader();
      const got = [...reader.push(wire.subarray(0, cut)), ...reader.push(wire.subarray(cut))];
      expect(got).toEqual(expected);
    }
  });

  it('returns nothing until a frame is complete', () => {
    const reader = new FrameReader();
    const one = encodeFrame(frame(7, 'abc'));
    expect(reader.push(one.subarray(0, HEADER_LENGTH + 2))).toEqual([]);
    expect(reader.push(one.subarray(HEADER_LENGTH + 2))).toEqual([frame(7, 'abc')]);
  });

  it('accepts a frame of exactly the maximum length', () => {
    const data = new Uint8Array(MAX_DATA_LENGTH).fill(7);
    const frames = new FrameReader().push(encodeFrame({ streamId: 1, type: MessageType.Response, flags: 0, data }));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.length).toBe(MAX_DATA_LENGTH);
  });

  it('rejects a header announcing more than 4 MiB before the data arrives', () => {
    const reader = new FrameReader();
    const header = encodeHeader({ length: MAX_DATA_LENGTH + 1, streamId: 1, type: 1, flags: 0 });
    expect(() => reader.push(header)).toThrow(expect.objectContaining({ kind: ErrorKind.ResourceExhausted }));
    expect(() => reader.push(Uint8Array.of(0))).toThrow();
  });

  it('refuses to encode a frame over the limit', () => {
    let error: unknown;
    try {
      encodeFrame({ streamId: 1, type: 1, flags: 0, data: new Uint8Array(MAX_DATA_LENGTH + 1) });
    } catch (err) {
      error = err;
    }
    expect(kindOf(error)).toBe(ErrorKind.ResourceExhausted);
  });
});
