import { createHash } from 'node:crypto';
import { ErrorKind, isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { createDigester, digestAlgorithm, digestEncoded, digestOf, isDigest, parseDigest } from './digest';

const sha256Empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha512Empty =
  'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

describe('parseDigest', () => {
  it.each([sha256Empty, sha512Empty])('accepts %s', (d) => {
    expect(parseDigest(d)).toBe(d);
    expect(isDigest(d)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['no colon', 'sha256'],
    ['no algorithm', ':abc'],
    ['no encoded part', 'sha256:'],
    ['unknown algorithm md5', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
    ['unknown algorithm sha384', `sha384:${'a'.repeat(96)}`],
    ['bad hex', 'sha256:zz'],
    ['upper-case hex', sha256Empty.toUpperCase().replace('SHA256', 'sha256')],
    ['short hex', 'sha256:abc'],
    ['sha512 length under sha256', `sha256:${'a'.repeat(128)}`],
    ['upper-case algorithm', sha256Empty.replace('sha256', 'SHA256')],
  ])('refuses %s as InvalidArgument', (_, d) => {
    expect(() => parseDigest(d)).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
    expect(isDigest(d)).toBe(false);
  });
});

describe('digesters', () => {
  it('agree with node:crypto for sha256 and sha512', () => {
    const data = 'hello berth';
    expect(digestOf(data)).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
    expect(digestOf(data, 'sha512')).toBe(`sha512:${createHash('sha512').update(data).digest('hex')}`);
    expect(digestOf(new Uint8Array())).toBe(sha256Empty);
    expect(digestOf('', 'sha512')).toBe(sha512Empty);
  });

  it('are incremental', () => {
    expect(createDigester().update('hello ').update(new TextEncoder().encode('berth')).digest()).toBe(digestOf('hello berth'));
  });

  it('refuse an unknown algorithm as InvalidArgument', () => {
    let caught: unknown;
    try {
      createDigester('md5' as never);
    } catch (err) {
      caught = err;
    }
    expect(isInvalidArgument(caught)).toBe(true);
  });

  it('split a digest into its parts', () => {
    expect(digestAlgorithm(parseDigest(sha512Empty))).toBe('sha512');
    expect(digestEncoded(parseDigest(sha256Empty))).toBe(sha256Empty.slice(7));
  });
});
