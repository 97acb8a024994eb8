import { describe, expect, it } from 'vitest';
import type { Platform } from './descriptor';
import { formatPlatform, parsePlatform } from './platform';
import { comparePlatforms, compatiblePlatforms, onlyPlatform, onlyPlatformStrict, orderedPlatforms, platformMatcher } from './platform-matcher';

const p = (s: string): Platform => parsePlatform(s);

describe('platformMatcher', () => {
  it.each<[string, string, boolean]>([
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/arm64/v8', 'linux/aarch64', true],
    ['linux/arm64', 'linux/arm64/v9', false],
    ['linux/arm64', 'linux/amd64', false],
    ['linux/arm64', 'windows/arm64', false],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/arm', 'linux/arm/v6', false],
    ['linux/amd64', 'linux/x86_64', true],
    ['linux/amd64', 'linux/amd64/v1', true],
    ['linux/amd64', 'linux/amd64/v2', false],
    ['linux/amd64', 'linux/386', false],
    ['linux/amd64', 'linux(+feat)/amd64', false],
    ['linux(+a+feat)/amd64', 'linux(+feat)/amd64', true],
    ['linux(+feat)/amd64', 'linux/amd64', true],
  ])('%s matches %s: %s', (want, candidate, result) => {
    expect(platformMatcher(p(want)).match(p(candidate))).toBe(result);
  });
});

describe('compatiblePlatforms', () => {
  it.each<[string, string[]]>([
    ['linux/amd64', ['linux/amd64', 'linux/386']],
    ['linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64/v1', 'linux/386']],
    ['linux/386', ['linux/386']],
    ['linux/arm/v7', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v6', ['linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v5', ['linux/arm/v5']],
    ['linux/arm64', ['linux/arm64/v8', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm64/v8.2', ['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64/v8', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    [
      'linux/arm64/v9.1',
      ['linux/arm64/v9.1', 'linux/arm64/v9', ...[6, 5, 4, 3, 2, 1].map((m) => `linux/arm64/v8.${m}`), 'linux/arm64/v8', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5'],
    ],
    ['linux/arm64/v10', []],
    ['linux/riscv64', ['linux/riscv64']],
  ])('%s', (host, want) => {
    expect(compatiblePlatforms(p(host)).map((x) => formatPlatform(x))).toEqual(want);
  });
});

describe('onlyPlatform', () => {
  it.each<[string, string, boolean]>([
    ['linux/arm64', 'linux/arm/v7', true],
    ['linux/arm64', 'linux/arm', true],
    ['linux/arm64', 'linux/arm/v5', true],
    ['linux/arm64', 'linux/amd64', false],
    ['linux/arm/v7', 'linux/arm64', false],
    ['linux/arm/v7', 'linux/arm/v8', false],
    ['linux/arm/v6', 'linux/arm/v7', false],
    ['linux/amd64', 'linux/386', true],
    ['linux/amd64', 'windows/amd64', false],
    ['linux/386', 'linux/amd64', false],
  ])('%s runs %s: %s', (host, candidate, result) => {
    expect(onlyPlatform(p(host)).match(p(candidate))).toBe(result);
  });

  it('onlyPlatformStrict has no fallbacks', () => {
    expect(onlyPlatformStrict(p('linux/amd64')).match(p('linux/386'))).toBe(false);
    expect(onlyPlatformStrict(p('linux/arm64')).match(p('linux/arm/v7'))).toBe(false);
    expect(onlyPlatformStrict(p('linux/arm64')).match(p('linux/arm64/v8'))).toBe(true);
  });
});

describe('comparePlatforms', () => {
  const rank = (host: string, candidates: string[]): string[] => {
    const m = onlyPlatform(p(host));
    return candidates
      .map(p)
      .sort((a, b) => comparePlatforms(m, a, b))
      .map((x) => formatPlatform(x));
  };

  it('puts the host platform first, then its fallbacks in order, then the rest as they were', () => {
    expect(rank('linux/amd64', ['linux/386', 'linux/arm/v6', 'linux/amd64', 'windows/amd64', 'linux/arm64'])).toEqual([
      'linux/amd64',
      'linux/386',
      'linux/arm/v6',
      'windows/amd64',
      'linux/arm64',
    ]);
    expect(rank('linux/arm64', ['linux/arm/v5', 'linux/amd64', 'linux/arm/v7', 'linux/arm64/v8'])).toEqual([
      'linux/arm64/v8',
      'linux/arm/v7',
      'linux/arm/v5',
      'linux/amd64',
    ]);
  });

  it('prefers the candidate with more OS features among equals', () => {
    const m = orderedPlatforms(p('windows(+a+b)/amd64'));
    const plain = p('windows/amd64');
    const featured = p('windows(+a)/amd64');
    expect(comparePlatforms(m, featured, plain)).toBeLessThan(0);
    expect(comparePlatforms(m, plain, featured)).toBeGreaterThan(0);
    expect(comparePlatforms(m, plain, plain)).toBe(0);
  });

  it('sorts a missing platform last', () => {
    const m = onlyPlatform(p('linux/amd64'));
    expect(comparePlatforms(m, undefined, p('linux/arm64'))).toBeGreaterThan(0);
    expect(comparePlatforms(m, p('linux/arm64'), undefined)).toBeLessThan(0);
    expect(comparePlatforms(m, undefined, undefined)).toBe(0);
  });
});
