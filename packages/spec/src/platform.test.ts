import { ErrorKind } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import type { Platform } from './descriptor';
import { defaultPlatform, formatPlatform, normalizePlatform, parsePlatform } from './platform';

const host = defaultPlatform();

describe('parsePlatform', () => {
  it.each<[string, Platform]>([
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['linux/arm64/v9.0', { os: 'linux', architecture: 'arm64', variant: 'v9' }],
    ['linux/arm64/v8.2', { os: 'linux', architecture: 'arm64', variant: 'v8.2' }],
    ['linux/arm', { os: 'linux', architecture: 'arm' }],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm/6', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['linux/armhf', { os: 'linux', architecture: 'arm' }],
    ['linux/armel', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['Linux/x86_64', { os: 'linux', architecture: 'amd64' }],
    ['linux/x86-64', { os: 'linux', architecture: 'amd64' }],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }],
    ['linux/i386', { os: 'linux', architecture: '386' }],
    ['linux/i686', { os: 'linux', architecture: '386' }],
    ['linux/ppc64le', { os: 'linux', architecture: 'ppc64le' }],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64' }],
    ['windows(10.0.17763)/amd64', { os: 'windows', 'os.version': '10.0.17763', architecture: 'amd64' }],
    ['windows(10.0.17763+win32k)/amd64', { os: 'windows', 'os.version': '10.0.17763', 'os.features': ['win32k'], architecture: 'amd64' }],
    ['linux(%2B1+f%2Fx)/amd64', { os: 'linux', 'os.version': '+1', 'os.features': ['f/x'], architecture: 'amd64' }],
    ['aarch64', { os: host.os, architecture: 'arm64' }],
    ['armel', { os: host.os, architecture: 'arm', variant: 'v6' }],
  ])('%s', (input, want) => {
    expect(parsePlatform(input)).toEqual(want);
  });

  it('a lone OS gets this host architecture', () => {
    const p = parsePlatform('linux');
    expect(p.os).toBe('linux');
    expect(p.architecture).toBe(host.architecture);
  });

  it.each([
    ['empty', ''],
    ['wildcard', 'linux/*'],
    ['four components', 'linux/arm/v7/x'],
    ['unknown lone word', 'plan10'],
    ['space', 'linux/a b'],
    ['empty architecture', 'linux/'],
    ['empty OS', '/amd64'],
    ['bad escape in the OS version', 'windows(%zz)/amd64'],
  ])('refuses %s as InvalidArgument', (_, input) => {
    expect(() => parsePlatform(input)).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
  });
});

describe('normalizePlatform', () => {
  it.each<[Platform, Platform]>([
    [{ os: 'Linux', architecture: 'X86_64' }, { os: 'linux', architecture: 'amd64' }],
    [{ os: 'linux', architecture: 'amd64', variant: 'v1' }, { os: 'linux', architecture: 'amd64' }],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }],
    [{ os: 'linux', architecture: 'aarch64', variant: 'v8.0' }, { os: 'linux', architecture: 'arm64' }],
    [{ os: 'linux', architecture: 'arm64', variant: '9' }, { os: 'linux', architecture: 'arm64', variant: 'v9' }],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8.2' }, { os: 'linux', architecture: 'arm64', variant: 'v8.2' }],
    [{ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' }],
    [{ os: 'linux', architecture: 'arm', variant: '6' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    [{ os: 'linux', architecture: 'armhf' }, { os: 'linux', architecture: 'arm', variant: 'v7' }],
    [{ os: 'linux', architecture: 'armel' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    [{ os: 'linux', architecture: 'i386' }, { os: 'linux', architecture: '386' }],
    [{ os: 'linux', architecture: 'i686', variant: 'x' }, { os: 'linux', architecture: '386' }],
    [{ os: 'MacOS', architecture: 'arm64' }, { os: 'darwin', architecture: 'arm64' }],
    [{ os: '', architecture: 'riscv64' }, { os: host.os, architecture: 'riscv64' }],
    [
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0', 'os.features': ['b', 'a', 'b'] },
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0', 'os.features': ['a', 'b'] },
    ],
  ])('%j', (input, want) => {
    expect(normalizePlatform(input)).toEqual(want);
    expect(normalizePlatform(want)).toEqual(want);
  });

  it('does not change its argument', () => {
    const p: Platform = { os: 'Linux', architecture: 'aarch64', variant: 'v8', 'os.features': ['b', 'a'] };
    normalizePlatform(p);
    expect(p).toEqual({ os: 'Linux', architecture: 'aarch64', variant: 'v8', 'os.features': ['b', 'a'] });
  });
});

describe('formatPlatform', () => {
  it.each<[Platform, string, string]>([
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8', 'linux/arm64/v8'],
    [{ os: 'linux', architecture: 'amd64' }, 'linux/amd64', 'linux/amd64'],
    [{ os: '', architecture: 'amd64' }, 'unknown', 'unknown'],
    [{ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763' }, 'windows/amd64', 'windows(10.0.17763)/amd64'],
    [{ os: 'linux', architecture: 'amd64', 'os.version': '+1', 'os.features': ['z', 'f/x'] }, 'linux/amd64', 'linux(%2B1+f%2Fx+z)/amd64'],
  ])('%j', (p, short, all) => {
    expect(formatPlatform(p)).toBe(short);
    expect(formatPlatform(p, { all: true })).toBe(all);
    if (p.os !== '') expect(normalizePlatform(parsePlatform(formatPlatform(p, { all: true })))).toEqual(normalizePlatform(p));
  });
});

describe('defaultPlatform', () => {
  it('maps Node names to Go names and is normalized', () => {
    const want = { x64: 'amd64', arm64: 'arm64', ia32: '386' }[process.arch as string];
    if (want !== undefined) expect(host.architecture).toBe(want);
    if (process.platform === 'linux') expect(host.os).toBe('linux');
    expect(normalizePlatform(host)).toEqual(host);
  });
});
