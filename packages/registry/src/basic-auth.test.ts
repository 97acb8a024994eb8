import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUnauthenticated } from '@berth/errdefs';
import { createRegistryClient } from './client';
import { dockerConfigCredentials, staticCredentials } from './credentials';
import { pushTree } from './helpers';
import { loadImage, type TestImage } from './test-support/images';
import { startRegistry, type TestRegistry } from './test-support/registry-server';

let dir: string;
let registry: TestRegistry;
let image: TestImage;
let ref: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-registry-basic-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, execFileSync('/usr/bin/htpasswd', ['-Bbn', 'alice', 's3cret']));
  [registry, image] = await Promise.all([startRegistry({ htpasswd }), loadImage('busybox')]);
  ref = `${registry.host}/basic/busybox:v1`;
});
afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('htpasswd Basic auth', () => {
  it('pushes and resolves with the right credentials', async () => {
    const client = createRegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 's3cret' } }) });
    try {
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      expect((await client.resolve(ref)).descriptor.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
  });

  it('is Unauthenticated with no credentials', async () => {
    const client = createRegistryClient();
    try {
      await expect(client.resolve(ref)).rejects.toSatisfy(isUnauthenticated);
      await expect(client.fetcher(ref).fetch(image.parsed.config)).rejects.toSatisfy(isUnauthenticated);
    } finally {
      client.close();
    }
  });

  it('is Unauthenticated with a wrong password', async () => {
    const client = createRegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'nope' } }) });
    try {
      await expect(client.resolve(ref)).rejects.toSatisfy(isUnauthenticated);
      await expect(client.pusher(ref).push(image.parsed.config, () => image.source(image.parsed.config))).rejects.toSatisfy(isUnauthenticated);
    } finally {
      client.close();
    }
  });

  it('takes credentials from a docker config.json auths entry', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ auths: { [`https://${registry.host}/v1/`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const client = createRegistryClient({ credentials: dockerConfigCredentials(config) });
    try {
      await pushTree(client.pusher(ref), image.manifest, image.source, { tag: 'v1' });
      expect((await client.resolve(ref)).descriptor.digest).toBe(image.manifest.digest);
    } finally {
      client.close();
    }
  });

  it('takes credentials from a docker-credential helper named in credHelpers', async () => {
    const bin = join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    const helper = join(bin, 'docker-credential-berthtest');
    // The helper protocol: the server URL on stdin, JSON on stdout; it logs what it was asked.
    await writeFile(
      helper,
      `#!/bin/sh\nread server\necho "$1 $server" >> ${join(dir, 'helper.log')}\n` +
        `if [ "$server" = "${registry.host}" ]; then echo '{"ServerURL":"${registry.host}","Username":"alice","Secret":"s3cret"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n`,
    );
    await chmod(helper, 0o755);
    const config = join(dir, 'helper-config.json');
    await writeFile(config, JSON.stringify({ auths: { [registry.host]: {} }, credHelpers: { [registry.host]: 'berthtest' } }));
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const client = createRegistryClient({ credentials: dockerConfigCredentials(config, { env }) });
    try {
      expect((await client.resolve(ref)).descriptor.digest).toBe(image.manifest.digest);
      expect((await import('node:fs')).readFileSync(join(dir, 'helper.log'), 'utf8')).toBe(`get ${registry.host}\n`);
    } finally {
      client.close();
    }
  });
});
