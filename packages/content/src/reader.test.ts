import { ErrorKind, kindOf } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { BufferReaderAt } from './reader';

describe('BufferReaderAt', () => {
  const bytes = Buffer.from('0123456789abcdef');
  const digest = digestOf(bytes);

  it('reads ranges, streams in chunks, and copies (the cache stays intact)', async () => {
    const r = new BufferReaderAt(bytes, digest);
    expect(r.size).toBe(16);
    expect((await r.read(4, 3)).toString()).toBe('456');
    expect((await r.read(10)).toString()).toBe('abcdef');
    expect((await r.read(16)).byteLength).toBe(0);
    const into = Buffer.alloc(8);
    expect(await r.readAt(into, 12)).toBe(4);
    expect(into.subarray(0, 4).toString()).toBe('cdef');
    const out = await r.read(0, 2);
    out[0] = 0x78;
    expect((await r.read(0, 2)).toString()).toBe('01');
    const chunks: Buffer[] = [];
    for await (const c of r.createReadStream({ start: 2, end: 12, chunkSize: 4 })) chunks.push(c as Buffer);
    expect(chunks.map((c) => c.toString())).toEqual(['2345', '6789', 'abc']);
  });

  it('rejects offsets past the end (OutOfRange), bad ones (InvalidArgument), and reads after close', async () => {
    const r = new BufferReaderAt(bytes, digest);
    await expect(r.read(17)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.OutOfRange);
    await expect(r.read(-1)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.InvalidArgument);
    await r.close();
    await expect(r.read(0)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.FailedPrecondition);
  });
});
