import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnauthenticated } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { createRegistryClient } from './client';
import { staticCredentials } from './credentials';
import { pushTree, readStream } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { makeSigningKey } from './test-support/pki';
import { startRegistry, type TestRegistry } from './test-support/registry-server';
import { startTokenServer, type TokenServer } from './test-support/token-server';

let dir: string;
let tokens: TokenServer;
let registry: TestRegistry;
let image: TestImage;
let ref: string;
const alice = () => staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-registry-token-'));
  const signing = makeSigningKey(dir);
  const common = { issuer: 'berth-test-issuer', service: 'berth-test-registry' };
  tokens = await startTokenServer({ ...common, ...signing, users: { alice: 's3cret' }, anonymous: ['pull'] });
  [registry, image] = await Promise.all([
    startRegistry({ token: { ...common, realm: tokens.realm, rootcertbundle: signing.cert } }),
    loadImage('busybox'),
  ]);
  ref = `${registry.host}/token/busybox:v1`;
});
afterAll(async () => {
  await registry?.stop();
  await tokens?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Bearer token auth', () => {
  it('pushes with credentials, asking the token server for push scope, and caches the token', async () => {
    const client = createRegistryClient({ credentials: alice() });
    try {
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      expect(tokens.requests).toContainEqual({ account: 'alice', scopes: ['repository:token/busybox:pull,push'] });
      const before = tokens.requests.length;
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      expect(tokens.requests.length).toBe(before);
    } finally {
      client.close();
    }
  });

  it('pulls anonymously with an anonymous token', async () => {
    const client = createRegistryClient();
    try {
      const before = tokens.requests.length;
      const { descriptor } = await client.resolve(ref);
      expect(descriptor.digest).toBe(image.manifest.digest);
      const config = await readStream(await client.fetcher(ref).fetch(image.parsed.config));
      expect(digestOf(config)).toBe(image.parsed.config.digest);
      expect(tokens.requests.slice(before)).toEqual([{ account: '', scopes: ['repository:token/busybox:pull'] }]);
    } finally {
      client.close();
    }
  });

  it('is Unauthenticated when pushing anonymously', async () => {
    const client = createRegistryClient();
    try {
      const err = await client
        .pusher(`${registry.host}/token/other`)
        .push(image.parsed.config, () => image.source(image.parsed.config))
        .catch((e: unknown) => e);
      expect(isUnauthenticated(err)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('is Unauthenticated when the token server refuses the password', async () => {
    const client = createRegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'wrong' } }) });
    try {
      await expect(client.resolve(ref)).rejects.toSatisfy(isUnauthenticated);
    } finally {
      client.close();
    }
  });

  it('mounts across repositories with a token for both', async () => {
    const client = createRegistryClient({ credentials: alice() });
    try {
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      const layer = image.parsed.layers[0]!;
      const result = await client.pusher(`${registry.host}/token/mounted`).push(layer, () => image.source(layer), { mountFrom: ['token/busybox'] });
      expect(result).toBe('mounted');
      expect(tokens.requests).toContainEqual({
        account: 'alice',
        scopes: ['repository:token/mounted:pull,push', 'repository:token/busybox:pull'],
      });
    } finally {
      client.close();
    }
  });
});
