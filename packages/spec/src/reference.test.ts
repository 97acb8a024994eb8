import { ErrorKind, isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { familiarName, familiarString, formatReference, normalizeReference, parseReference } from './reference';

const dgst = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const hex64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

// Docker's normalization cases (distribution/reference normalize_test.go):
// [input, domain, path, familiar name].
const repositories: Array<[string, string, string, string]> = [
  ['fooo/bar', 'docker.io', 'fooo/bar', 'fooo/bar'],
  ['docker.io/fooo/bar', 'docker.io', 'fooo/bar', 'fooo/bar'],
  ['index.docker.io/fooo/bar', 'docker.io', 'fooo/bar', 'fooo/bar'],
  ['ubuntu', 'docker.io', 'library/ubuntu', 'ubuntu'],
  ['library/ubuntu', 'docker.io', 'library/ubuntu', 'ubuntu'],
  ['docker.io/library/ubuntu', 'docker.io', 'library/ubuntu', 'ubuntu'],
  ['docker.io/foo', 'docker.io', 'library/foo', 'foo'],
  ['nonlibrary/ubuntu', 'docker.io', 'nonlibrary/ubuntu', 'nonlibrary/ubuntu'],
  ['other/library', 'docker.io', 'other/library', 'other/library'],
  ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000', 'private/moonbase', '127.0.0.1:8000/private/moonbase'],
  ['127.0.0.1:8000/privatebase', '127.0.0.1:8000', 'privatebase', '127.0.0.1:8000/privatebase'],
  ['example.com/private/moonbase', 'example.com', 'private/moonbase', 'example.com/private/moonbase'],
  ['example.com:8000/privatebasee', 'example.com:8000', 'privatebasee', 'example.com:8000/privatebasee'],
  ['ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base', 'ubuntu-12.04-base'],
  ['library/foo/bar', 'docker.io', 'library/foo/bar', 'library/foo/bar'],
  ['store/foo/bar', 'docker.io', 'store/foo/bar', 'store/foo/bar'],
  ['Foo/bar', 'Foo', 'bar', 'Foo/bar'],
  ['FOO/bar', 'FOO', 'bar', 'FOO/bar'],
  ['test.com/foo', 'test.com', 'foo', 'test.com/foo'],
  ['test_com/foo', 'docker.io', 'test_com/foo', 'test_com/foo'],
  ['test-com:8080/foo', 'test-com:8080', 'foo', 'test-com:8080/foo'],
  ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo', 'xn--n3h.com:18080/foo'],
  ['localhost/foo', 'localhost', 'foo', 'localhost/foo'],
  ['localhost:5000/a/b', 'localhost:5000', 'a/b', 'localhost:5000/a/b'],
  ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000', 'docker/docker', '[fc00::1]:5000/docker/docker'],
  ['192.168.0.1', 'docker.io', 'library/192.168.0.1', '192.168.0.1'],
  ['dock__er/docker', 'docker.io', 'dock__er/docker', 'dock__er/docker'],
  ['docker---rules/docker', 'docker.io', 'docker---rules/docker', 'docker---rules/docker'],
  [`docker.io/${hex64}`, 'docker.io', `library/${hex64}`, hex64],
  ['thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'docker.io', 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev', 'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'],
];

describe('parseReference', () => {
  it.each(repositories)('%s', (input, domain, path, familiar) => {
    const ref = parseReference(input);
    expect(ref).toEqual({ domain, path, name: `${domain}/${path}` });
    expect(familiarName(ref)).toBe(familiar);
    // the familiar form parses back to the same repository, except a bare 64-hex name, which
    // Docker too refuses as ambiguous with an image id
    if (familiar !== hex64) expect(parseReference(familiar).name).toBe(ref.name);
  });

  it.each<[string, string | undefined, string | undefined]>([
    ['busybox:1.36', '1.36', undefined],
    [`busybox@${dgst}`, undefined, dgst],
    [`busybox:latest@${dgst}`, 'latest', dgst],
    ['localhost:5000/a/b:t', 't', undefined],
    [`ghcr.io/o/r:v1.0_rc-2@${dgst}`, 'v1.0_rc-2', dgst],
    [`busybox:${'a'.repeat(128)}`, 'a'.repeat(128), undefined],
  ])('tag and digest of %s', (input, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
    expect(parseReference(formatReference(ref))).toEqual(ref);
  });

  it.each([
    ['empty', ''],
    ['uppercase path', 'docker/Docker'],
    ['uppercase path under a domain', 'docker.io/docker/Docker'],
    ['uppercase path under localhost', 'localhost:5000/Foo'],
    ['uppercase single name', 'Busybox'],
    ['url', 'https://github.com/docker/docker'],
    ['leading dash', '-docker'],
    ['leading dash in namespace', '-docker/docker'],
    ['trailing dash in namespace', 'docker-/docker'],
    ['leading dash in domain', '-docker.io/docker/docker'],
    ['empty components', 'docker///docker'],
    ['empty components under a domain', 'docker.io/docker///docker'],
    ['ipv6 without path', '[fc00::1]'],
    ['ipv6 with port, without path', '[fc00::1]:5000'],
    ['bare ipv6', 'fc00::1:5000/debian'],
    ['ipv6 zone', '[fe80::1%eth0]:5000/debian'],
    ['underscores only', '____/____'],
    ['leading underscore', '_docker/_docker'],
    ['double period', 'dock..er/docker'],
    ['period after underscore', 'dock_.er/docker'],
    ['empty repository', 'docker/'],
    ['64 hex characters (an image id)', hex64],
    ['path too long', `${'a'.repeat(200)}/${'b'.repeat(60)}`],
    ['tag too long', `busybox:${'a'.repeat(129)}`],
    ['tag with a bad first character', 'busybox:-x'],
    ['tag with a bad character', 'busybox:a+b'],
    ['empty tag', 'busybox:'],
    ['bad digest hex', 'busybox@sha256:zz'],
    ['unsupported digest algorithm', `busybox@md5:${'a'.repeat(32)}`],
    ['empty digest', 'busybox@'],
    ['digest without algorithm', `busybox@${dgst.slice(7)}`],
    ['domain with an underscore', 'foo_bar.com/x'],
  ])('refuses %s as InvalidArgument', (_, input) => {
    expect(() => parseReference(input)).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
  });
});

describe('normalizeReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp:latest'],
    [`redis@${dgst}`, `docker.io/library/redis@${dgst}`],
    [`redis:7@${dgst}`, `docker.io/library/redis@${dgst}`],
    ['localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
    ['dbcc1', 'docker.io/library/dbcc1:latest'],
  ])('%s → %s', (input, want) => {
    expect(normalizeReference(input)).toBe(want);
    expect(normalizeReference(want)).toBe(want);
  });

  it('throws InvalidArgument for a bad reference', () => {
    expect(() => normalizeReference('Busybox')).toThrow(expect.toSatisfy(isInvalidArgument));
  });
});

describe('familiarString', () => {
  it.each([
    ['docker.io/library/busybox:latest', 'busybox:latest'],
    [`docker.io/library/busybox:latest@${dgst}`, `busybox:latest@${dgst}`],
    ['docker.io/a/b', 'a/b'],
    ['ghcr.io/a/b:1', 'ghcr.io/a/b:1'],
  ])('%s → %s', (input, want) => {
    expect(familiarString(input)).toBe(want);
  });
});
