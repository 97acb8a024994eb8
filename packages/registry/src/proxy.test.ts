import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { createRegistryClient } from './client';
import { pushTree, readStream } from './helpers';
import { ProxyRules, proxyFromEnvironment } from './proxy';
import { startHttpProxy, type TestHttpProxy } from './test-support/http-proxy';
import { loadImage, type TestImage } from './test-support/images';
import { makePki, type TestPki } from './test-support/pki';
import { startRegistry, type TestRegistry } from './test-support/registry-server';

const proxyOf = (rules: ProxyRules, url: string): string | undefined => rules.proxyFor(new URL(url))?.href;

describe('proxyFromEnvironment', () => {
  it('reads the upper-case variables first, then the lower-case ones, skipping empty ones', () => {
    expect(proxyFromEnvironment({ HTTP_PROXY: 'http://a:1', http_proxy: 'http://b:1', https_proxy: 'c:2', NO_PROXY: '', no_proxy: 'x' })).toEqual({
      httpProxy: 'http://a:1',
      httpsProxy: 'c:2',
      noProxy: 'x',
    });
    expect(proxyFromEnvironment({})).toEqual({});
  });
});

describe('ProxyRules', () => {
  it('takes HTTP_PROXY for http and HTTPS_PROXY for https, a bare host:port as http://', () => {
    const rules = new ProxyRules({ httpProxy: 'proxy.corp:3128', httpsProxy: 'http://secure.corp:8080' });
    expect(proxyOf(rules, 'http://registry.example/v2/')).toBe('http://proxy.corp:3128/');
    expect(proxyOf(rules, 'https://registry.example/v2/')).toBe('http://secure.corp:8080/');
    expect(proxyOf(new ProxyRules({ httpProxy: 'http://p:1' }), 'https://registry.example/v2/')).toBeUndefined();
  });

  it('never proxies localhost or loopback addresses', () => {
    const rules = new ProxyRules({ httpProxy: 'http://p:1', httpsProxy: 'http://p:1' });
    for (const url of ['http://localhost:5000/', 'https://127.0.0.1:5000/', 'http://127.1.2.3/', 'https://[::1]:5000/', 'http://a.localhost/']) {
      expect(proxyOf(rules, url)).toBeUndefined();
    }
  });

  it('applies NO_PROXY: *, domains with their subdomains, subdomains only, ports, addresses and ranges', () => {
    const rules = (noProxy: string) => new ProxyRules({ httpsProxy: 'http://p:1', noProxy });
    expect(proxyOf(rules('*'), 'https://anything.example/')).toBeUndefined();
    const domain = rules('example.com, .corp.net ,*.lab.org,mirror.io:5000,10.1.2.3,192.168.0.0/16,fd00::/8');
    const direct = ['https://example.com/', 'https://a.b.example.com/', 'https://x.corp.net/', 'https://y.lab.org/', 'https://mirror.io:5000/'];
    const proxied = ['https://notexample.com/', 'https://corp.net/', 'https://lab.org/', 'https://mirror.io/', 'https://10.1.2.4/', 'https://172.16.0.1/'];
    for (const url of direct) expect(proxyOf(domain, url), url).toBeUndefined();
    for (const url of proxied) expect(proxyOf(domain, url), url).toBe('http://p:1/');
    for (const url of ['https://10.1.2.3/', 'https://192.168.7.9:443/', 'https://[fd12::1]/']) expect(proxyOf(domain, url), url).toBeUndefined();
  });

  it('refuses a proxy that is not an http:// URL', () => {
    for (const httpsProxy of ['socks5://p:1080', 'https://p:443', 'http://[bad']) {
      expect(() => new ProxyRules({ httpsProxy })).toThrow(expect.objectContaining({ kind: ErrorKind.InvalidArgument }));
    }
    expect(() => createRegistryClient({ proxy: { httpProxy: 'ftp://p' } })).toThrow(/only http:\/\/ proxies/);
  });
});

describe('registries through an HTTP proxy', () => {
  let dir: string;
  let pki: TestPki;
  let plain: TestRegistry;
  let secure: TestRegistry;
  let image: TestImage;
  let proxy: TestHttpProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registry-proxy-'));
    pki = makePki(dir);
    [plain, secure, image] = await Promise.all([
      startRegistry(),
      startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey } }),
      loadImage('busybox'),
    ]);
    // Pushed directly (127.0.0.1 is never proxied), read back through the proxy as registry.test.
    const direct = createRegistryClient({ hosts: { [secure.host]: { ca: pki.caCert } }, proxy: false });
    await pushTree(direct.pusher(`${plain.host}/proxied/busybox`), image.manifest, image.source, { tag: 'v1' });
    await pushTree(direct.pusher(`${secure.host}/proxied/busybox`), image.manifest, image.source, { tag: 'v1' });
    direct.close();
    proxy = await startHttpProxy({ hosts: { 'registry.test': '127.0.0.1' } });
  });
  afterAll(async () => {
    await proxy?.close();
    await Promise.all([plain?.stop(), secure?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const port = (r: TestRegistry): string => r.host.slice(r.host.lastIndexOf(':') + 1);

  async function pullConfig(client: ReturnType<typeof createRegistryClient>, ref: string): Promise<void> {
    const { descriptor } = await client.resolve(ref);
    expect(descriptor.digest).toBe(image.manifest.digest);
    const config = await readStream(await client.fetcher(ref).fetch(image.parsed.config));
    expect(digestOf(config)).toBe(image.parsed.config.digest);
  }

  it('sends plain HTTP requests to the proxy in absolute form', async () => {
    const host = `registry.test:${port(plain)}`;
    const client = createRegistryClient({ hosts: { [host]: { server: `http://${host}` } }, proxy: { httpProxy: proxy.url } });
    proxy.seen.length = 0;
    try {
      await pullConfig(client, `${host}/proxied/busybox:v1`);
    } finally {
      client.close();
    }
    expect(proxy.seen).toContain(`GET http://${host}/v2/proxied/busybox/blobs/${image.parsed.config.digest}`);
    expect(proxy.seen.every((line) => line.includes(`http://${host}/v2/`))).toBe(true);
  });

  it('tunnels HTTPS through CONNECT, verifying the registry with its host settings', async () => {
    const host = `registry.test:${port(secure)}`;
    const client = createRegistryClient({ hosts: { [host]: { ca: pki.caCert } }, proxy: { httpsProxy: proxy.url } });
    proxy.seen.length = 0;
    try {
      await pullConfig(client, `${host}/proxied/busybox:v1`);
    } finally {
      client.close();
    }
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT ${host}`]));
    // Without the CA the tunnel works, and TLS refuses the certificate.
    const untrusting = createRegistryClient({ proxy: { httpsProxy: proxy.url }, retries: 0 });
    try {
      await expect(untrusting.resolve(`${host}/proxied/busybox:v1`)).rejects.toThrow(/certificate not trusted/);
    } finally {
      untrusting.close();
    }
  });

  it('goes direct for NO_PROXY and loopback hosts, and takes the environment by default', async () => {
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = 'unrelated.example';
    proxy.seen.length = 0;
    const client = createRegistryClient({ hosts: { [secure.host]: { ca: pki.caCert } } });
    try {
      await pullConfig(client, `${secure.host}/proxied/busybox:v1`);
      // registry.test through the proxy from the environment; then NO_PROXY sends it direct, where the name does not resolve.
      const host = `registry.test:${port(secure)}`;
      const viaEnv = createRegistryClient({ hosts: { [host]: { ca: pki.caCert } } });
      await pullConfig(viaEnv, `${host}/proxied/busybox:v1`).finally(() => viaEnv.close());
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT ${host}`]));
      const before = proxy.seen.length;
      const excluded = createRegistryClient({ hosts: { [host]: { ca: pki.caCert } }, proxy: { httpsProxy: proxy.url, noProxy: 'registry.test' }, retries: 0 });
      await expect(excluded.resolve(`${host}/proxied/busybox:v1`)).rejects.toSatisfy((e) => kindOf(e) === ErrorKind.Unavailable);
      excluded.close();
      expect(proxy.seen).toHaveLength(before);
    } finally {
      client.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('sends the proxy credentials of the proxy URL, and says when the proxy refuses', async () => {
    const guarded = await startHttpProxy({ hosts: { 'registry.test': '127.0.0.1' }, credentials: 'user:s3cret' });
    const host = `registry.test:${port(secure)}`;
    try {
      const client = createRegistryClient({ hosts: { [host]: { ca: pki.caCert } }, proxy: { httpsProxy: guarded.url } });
      await pullConfig(client, `${host}/proxied/busybox:v1`).finally(() => client.close());
      const anonymous = createRegistryClient({ hosts: { [host]: { ca: pki.caCert } }, proxy: { httpsProxy: guarded.url.replace('user:s3cret@', '') }, retries: 0 });
      await expect(anonymous.resolve(`${host}/proxied/busybox:v1`)).rejects.toThrow(new RegExp(`proxy 127\\.0\\.0\\.1:\\d+: CONNECT ${host}: 407`));
      anonymous.close();
    } finally {
      await guarded.close();
    }
  });
});
