import { describe, expect, it } from 'vitest';
import { imageChanges } from './image-changes';
import { parseBytes, resourceLimits } from './limit-flags';
import { formatTimestamp, timeOf } from './log-times';
import { parseTimeArg } from './time-args';

describe('parseBytes (Docker RAMInBytes)', () => {
  it.each([
    ['100', 100],
    ['100b', 100],
    ['64k', 64 * 1024],
    ['64KB', 64 * 1024],
    ['512m', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    ['2GiB', 2 * 1024 ** 3],
  ])('%s = %d', (s, n) => expect(parseBytes(s)).toBe(n));
  it.each(['', 'm', '12x', '-1m', '1..5g'])('%j does not parse', (s) => expect(parseBytes(s)).toBeUndefined());
});

describe('resourceLimits', () => {
  it('turns --cpus into a CFS quota over 100000 µs and leaves unlimited values out', () => {
    expect(resourceLimits({ cpus: '0.5' })).toEqual({ cpuQuota: 50_000, cpuPeriod: 100_000 });
    expect(resourceLimits({ cpus: '0' })).toBeUndefined();
    expect(resourceLimits({ 'pids-limit': '-1' })).toEqual({ pidsLimit: -1 });
  });
});

describe('parseTimeArg', () => {
  const now = Date.parse('2024-05-06T07:08:09Z');
  it.each([
    ['10m', now - 600_000],
    ['1h30m', now - 5_400_000],
    ['1.5s', now - 1500],
    ['1700000000', 1_700_000_000_000],
    ['1700000000.25', 1_700_000_000_250],
    ['2024-01-02T03:04:05Z', Date.parse('2024-01-02T03:04:05Z')],
    ['2024-01-02T03:04:05.5+01:00', Date.parse('2024-01-02T02:04:05.500Z')],
  ])('%s', (s, t) => expect(parseTimeArg(s, 'since', now)).toBe(t));
  it('refuses what is neither a time nor a duration', () => {
    expect(() => parseTimeArg('soon', 'until', now)).toThrow('invalid value for "until"');
  });
});

describe('log times', () => {
  it('gives a byte the time of the first entry at or past it, else the fallback', () => {
    const index = { ends: [4, 10], times: [100, 200], fallback: 300 };
    expect([timeOf(index, 1), timeOf(index, 4), timeOf(index, 5), timeOf(index, 10), timeOf(index, 11)]).toEqual([100, 100, 200, 200, 300]);
  });
  it("formats Docker's RFC 3339 with nine fraction digits", () => {
    expect(formatTimestamp(Date.parse('2024-01-02T03:04:05.678Z'))).toBe('2024-01-02T03:04:05.678000000Z');
  });
});

describe('imageChanges (import --change)', () => {
  it('applies Dockerfile instructions to the image config', () => {
    expect(imageChanges(['CMD ["cat", "/f"]', 'ENTRYPOINT echo hi', 'ENV A=1 B="two words"', 'ENV C 3', 'WORKDIR /w', 'USER app', 'EXPOSE 80 53/udp', 'LABEL k=v'])).toEqual({
      Cmd: ['cat', '/f'],
      Entrypoint: ['/bin/sh', '-c', 'echo hi'],
      Env: ['A=1', 'B=two words', 'C=3'],
      WorkingDir: '/w',
      User: 'app',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { k: 'v' },
    });
  });
  it('refuses an unknown instruction', () => {
    expect(() => imageChanges(['RUN true'])).toThrow('RUN is not a valid change command');
  });
});
