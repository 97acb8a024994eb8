import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnavailable } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { createRegistryClient } from './client';
import { pushTree, readStream } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { makePki, type TestPki } from './test-support/pki';
import { startRegistry, type TestRegistry } from './test-support/registry-server';

let dir: string;
let pki: TestPki;
let registry: TestRegistry;
let image: TestImage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-registry-tls-'));
  pki = makePki(dir);
  [registry, image] = await Promise.all([
    startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey } }),
    loadImage('busybox'),
  ]);
});
afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('TLS with a CA of its own', () => {
  it('works when the CA is trusted through the host settings', async () => {
    const client = createRegistryClient({ hosts: { [registry.host]: { ca: pki.caCert } } });
    try {
      const ref = `${registry.host}/tls/busybox:v1`;
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      const { descriptor } = await client.resolve(ref);
      expect(descriptor.digest).toBe(image.manifest.digest);
      const config = await readStream(await client.fetcher(ref).fetch(image.parsed.config));
      expect(digestOf(config)).toBe(image.parsed.config.digest);
    } finally {
      client.close();
    }
  });

  it('takes the CA as PEM text and the server as an https URL standing in for the domain', async () => {
    const pem = await readFile(pki.caCert, 'utf8');
    const trusted = createRegistryClient({ hosts: { [registry.host]: { ca: pem } } });
    await pushTree(trusted.pusher(`${registry.host}/tls/busybox`), image.manifest, image.source, { tag: 'v1' });
    trusted.close();
    const client = createRegistryClient({ hosts: { 'registry.test': { server: `https://${registry.host}`, ca: pem } } });
    try {
      const { name, descriptor } = await client.resolve('registry.test/tls/busybox:v1');
      expect(name).toBe('registry.test/tls/busybox:v1');
      expect(descriptor.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
  });

  it('is refused as Unavailable without the CA, and does not fall back to plain HTTP', async () => {
    const client = createRegistryClient({ retries: 0 });
    try {
      const err = await client.resolve(`${registry.host}/tls/busybox:v1`).catch((e: unknown) => e);
      expect(isUnavailable(err)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('skips verification when told to', async () => {
    const trusted = createRegistryClient({ hosts: { [registry.host]: { ca: pki.caCert } } });
    await pushTree(trusted.pusher(`${registry.host}/tls/busybox`), image.manifest, image.source, { tag: 'v1' });
    trusted.close();
    const client = createRegistryClient({ hosts: { [registry.host]: { skipVerify: true } } });
    try {
      expect((await client.resolve(`${registry.host}/tls/busybox:v1`)).descriptor.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
  });
});
