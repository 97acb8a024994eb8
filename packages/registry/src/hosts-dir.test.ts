import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorKind } from '@berth/errdefs';
import { createRegistryClient } from './client';
import { endpointsFor } from './hosts';
import { hostsFromDir, parseHostsToml } from './hosts-dir';
import { pushTree } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { makePki, type TestPki } from './test-support/pki';
import { startRegistry, type TestRegistry } from './test-support/registry-server';

const root = mkdtempSync(join(tmpdir(), 'berth-hosts-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function hostDir(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const invalid = (message: RegExp) => expect.objectContaining({ kind: ErrorKind.InvalidArgument, message: expect.stringMatching(message) });

describe('parseHostsToml', () => {
  it("reads containerd's fields: the server's, then each mirror's in the order written", () => {
    const dir = '/etc/containerd/certs.d/registry.example.com';
    const config = parseHostsToml(
      `server = "registry.example.com:5000/v2"
ca = ["ca.crt", "/etc/ssl/extra.pem"]
client = "/etc/certs/both.pem"
capabilities = ["Resolve", "pull"]
header = { x-team = ["a", "b"] }

[host."https://second.example"]
  capabilities = ["pull"]
  skip_verify = true
  client = [["m.cert", "m.key"]]

[host."http://first.example:8080/prefix"]
  override_path = true
  dial_timeout = "2s"
  [host."http://first.example:8080/prefix".header]
    authorization = "Bearer x"
`,
      dir,
    );
    expect(config).toEqual({
      server: 'https://registry.example.com:5000',
      ca: [`${dir}/ca.crt`, '/etc/ssl/extra.pem'],
      client: { cert: '/etc/certs/both.pem', key: '/etc/certs/both.pem' },
      capabilities: ['resolve', 'pull'],
      header: { 'x-team': 'a, b' },
      mirrors: [
        { url: 'https://second.example', capabilities: ['pull'], skipVerify: true, client: { cert: `${dir}/m.cert`, key: `${dir}/m.key` } },
        { url: 'http://first.example:8080/prefix', overridePath: true, header: { authorization: 'Bearer x' } },
      ],
    });
    const endpoints = endpointsFor('registry.example.com', { 'registry.example.com': { ...config, ca: [], client: undefined, mirrors: config.mirrors!.map((m) => ({ ...m, client: undefined })) } });
    expect(endpoints.map((e) => `${e.scheme}://${e.host}${e.path}`)).toEqual([
      'https://second.example/v2',
      'http://first.example:8080/prefix',
      'https://registry.example.com:5000/v2',
    ]);
  });

  it("takes Docker Hub's registry for docker.io, and a server path as the API root with override_path", () => {
    expect(parseHostsToml('server = "https://docker.io"', '/d').server).toBe('https://registry-1.docker.io');
    const config = parseHostsToml('server = "https://r.example/api"\noverride_path = true', '/d');
    expect(config).toEqual({ server: 'https://r.example/api', overridePath: true });
    expect(endpointsFor('r.example', { 'r.example': config })[0]!.path).toBe('/api');
  });

  it('refuses what it cannot read, naming the file', () => {
    const file = '/d/hosts.toml';
    expect(() => parseHostsToml('server = ', '/d', file)).toThrow(invalid(/^\/d\/hosts\.toml: /));
    expect(() => parseHostsToml('server = 5', '/d', file)).toThrow(invalid(/server must be a string/));
    expect(() => parseHostsToml('capabilities = ["pull", "delete"]', '/d', file)).toThrow(invalid(/unknown capability "delete"/));
    expect(() => parseHostsToml('[host."https://m"]\nskip_verify = "yes"', '/d', file)).toThrow(invalid(/host "https:\/\/m": skip_verify must be true or false/));
    expect(() => parseHostsToml('client = ["a.pem", "b.pem"]', '/d', file)).toThrow(invalid(/only one client key pair/));
    expect(() => parseHostsToml('ca = [1]', '/d', file)).toThrow(invalid(/ca must be a string or a list of strings/));
  });
});

describe('hostsFromDir', () => {
  it('finds host_port_, then host:port, then _default, else nothing', () => {
    const dirs = join(root, 'lookup');
    hostDir('lookup/a.example_5000_', { 'hosts.toml': 'server = "https://underscore"' });
    hostDir('lookup/a.example:5000', { 'hosts.toml': 'server = "https://colon"' });
    hostDir('lookup/b.example:5000', { 'hosts.toml': 'server = "https://colon-only"' });
    expect(hostsFromDir(dirs, 'a.example:5000')?.server).toBe('https://underscore');
    expect(hostsFromDir(dirs, 'b.example:5000')?.server).toBe('https://colon-only');
    expect(hostsFromDir(dirs, 'c.example')).toBeUndefined();
    hostDir('lookup/_default', { 'hosts.toml': 'server = "https://fallback"' });
    expect(hostsFromDir(dirs, 'c.example')?.server).toBe('https://fallback');
    expect(hostsFromDir(join(root, 'no-such-dir'), 'c.example')).toBeUndefined();
  });

  it("uses Docker's certificate files when there is no hosts.toml", () => {
    const dir = hostDir('certs/docker.example', { 'ca.crt': 'x', 'other.crt': 'y', 'client.cert': 'c', 'client.key': 'k', 'README': '' });
    expect(hostsFromDir(join(root, 'certs'), 'docker.example')).toEqual({
      ca: [join(dir, 'ca.crt'), join(dir, 'other.crt')],
      client: { cert: join(dir, 'client.cert'), key: join(dir, 'client.key') },
    });
  });
});

describe('a registry configured by a hosts directory', () => {
  let dir: string;
  let pki: TestPki;
  let registry: TestRegistry;
  let image: TestImage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-hosts-dir-tls-'));
    pki = makePki(dir);
    [registry, image] = await Promise.all([startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey } }), loadImage('busybox')]);
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("trusts the CA named relative to the host's directory, and nothing without it", async () => {
    const certsD = join(dir, 'certs.d');
    const hostPath = join(certsD, `${registry.host.replace(':', '_')}_`);
    mkdirSync(hostPath, { recursive: true });
    copyFileSync(pki.caCert, join(hostPath, 'registry-ca.pem'));
    writeFileSync(join(hostPath, 'hosts.toml'), `server = "https://${registry.host}"\nca = "registry-ca.pem"\n`);
    const client = createRegistryClient({ hosts: { [registry.host]: hostsFromDir(certsD, registry.host)! } });
    try {
      await pushTree(client.pusher(`${registry.host}/hosts-dir/busybox`), image.manifest, image.source, { tag: 'v1' });
      expect((await client.resolve(`${registry.host}/hosts-dir/busybox:v1`)).descriptor.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
    const untrusting = createRegistryClient({ retries: 0 });
    try {
      await expect(untrusting.resolve(`${registry.host}/hosts-dir/busybox:v1`)).rejects.toThrow(/certificate not trusted/);
    } finally {
      untrusting.close();
    }
  });
});
