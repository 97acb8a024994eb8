import { describe, expect, it } from 'vitest';
import { isInvalidArgument } from '@berth/errdefs';
import { parseChallenges } from './challenge';
import { endpointsFor, isLoopback } from './hosts';

describe('endpointsFor', () => {
  it('maps docker.io to registry-1.docker.io over https', () => {
    const [ep, ...rest] = endpointsFor('docker.io');
    expect(rest).toEqual([]);
    expect(ep).toMatchObject({ scheme: 'https', host: 'registry-1.docker.io', path: '/v2', mirror: false, httpFallback: false });
    expect([...ep!.capabilities].sort()).toEqual(['pull', 'push', 'resolve']);
  });

  it('lets loopback registries fall back to plain HTTP, and nothing else', () => {
    expect(endpointsFor('127.0.0.1:5000')[0]).toMatchObject({ scheme: 'https', host: '127.0.0.1:5000', httpFallback: true });
    expect(endpointsFor('localhost:5000')[0]!.httpFallback).toBe(true);
    expect(endpointsFor('registry.example:5000')[0]!.httpFallback).toBe(false);
    expect(endpointsFor('127.0.0.1:5000', { '127.0.0.1:5000': { server: 'https://127.0.0.1:5000' } })[0]!.httpFallback).toBe(false);
  });

  it('puts mirrors first, with their own path, capabilities and settings', () => {
    const eps = endpointsFor('docker.io', {
      'docker.io': {
        header: { 'X-A': '1' },
        mirrors: [
          { url: 'http://mirror.local:5000', header: { 'X-B': '2' } },
          { url: 'https://cache.example/prefix', overridePath: true, capabilities: ['pull'], skipVerify: true },
        ],
      },
    });
    expect(eps.map((e) => [e.scheme, e.host, e.path, e.mirror])).toEqual([
      ['http', 'mirror.local:5000', '/v2', true],
      ['https', 'cache.example', '/prefix', true],
      ['https', 'registry-1.docker.io', '/v2', false],
    ]);
    expect(eps[0]!.header).toEqual({ 'X-A': '1', 'X-B': '2' });
    expect([...eps[0]!.capabilities]).toEqual(['pull', 'resolve']);
    expect([...eps[1]!.capabilities]).toEqual(['pull']);
    expect(eps[1]!.tls.rejectUnauthorized).toBe(false);
  });

  it('uses _default for domains with no entry', () => {
    expect(endpointsFor('quay.io', { _default: { server: 'http://proxy.local' } })[0]).toMatchObject({ scheme: 'http', host: 'proxy.local' });
  });

  it('refuses a bad URL or an unreadable CA file with InvalidArgument', () => {
    expect(() => endpointsFor('a.io', { 'a.io': { server: 'ftp://a.io' } })).toThrow(expect.toSatisfy(isInvalidArgument));
    expect(() => endpointsFor('a.io', { 'a.io': { ca: '/nonexistent/ca.pem' } })).toThrow(expect.toSatisfy(isInvalidArgument));
  });

  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1', true],
    ['127.1.2.3:80', true],
    ['[::1]:5000', true],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['registry.example', false],
  ])('isLoopback(%s) is %s', (host, want) => {
    expect(isLoopback(host)).toBe(want);
  });
});

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Basic realm="a", Bearer realm="https://t/x", error="insufficient_scope"',
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'https://t/x', error: 'insufficient_scope' } },
      ],
    ],
    ['Bearer realm="q\\"uote", Service=plain', [{ scheme: 'bearer', params: { realm: 'q"uote', service: 'plain' } }]],
    ['', []],
  ])('%s', (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });
});
