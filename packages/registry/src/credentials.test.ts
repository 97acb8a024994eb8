import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInvalidArgument } from '@berth/errdefs';
import { dockerConfigCredentials } from './credentials';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-registry-creds-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function config(value: unknown): Promise<string> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('dockerConfigCredentials', () => {
  it("serves Docker Hub's API host from the index.docker.io entry", async () => {
    const store = dockerConfigCredentials(
      await config({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') } } }),
    );
    expect(await store.get('registry-1.docker.io')).toEqual({ username: 'hub', password: 'pw:with:colons' });
    expect(await store.get('ghcr.io')).toBeUndefined();
  });

  it('matches keys by host, with or without scheme and path, and reads identity tokens', async () => {
    const store = dockerConfigCredentials(
      await config({
        auths: {
          'https://reg.example:5000/v1/': { username: 'u', password: 'p' },
          'tok.example': { identitytoken: 'refresh-me' },
        },
      }),
    );
    expect(await store.get('reg.example:5000')).toEqual({ username: 'u', password: 'p' });
    expect(await store.get('reg.example')).toBeUndefined();
    expect(await store.get('tok.example')).toEqual({ username: '', password: '', identityToken: 'refresh-me' });
  });

  it('has no credentials when the file is missing, and refuses a malformed one', async () => {
    expect(await dockerConfigCredentials(join(dir, 'absent.json')).get('a.example')).toBeUndefined();
    await expect(dockerConfigCredentials(await config('{nope')).get('a.example')).rejects.toSatisfy(isInvalidArgument);
  });

  it('asks the credsStore helper for every host', async () => {
    const bin = join(dir, 'store-bin');
    await (await import('node:fs/promises')).mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-berthstore');
    await writeFile(helper, `#!/bin/sh\nread server\necho "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"tok-for-$server\\"}"\n`, { mode: 0o755 });
    const store = dockerConfigCredentials(await config({ credsStore: 'berthstore' }), {
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    });
    expect(await store.get('registry-1.docker.io')).toEqual({ username: '', password: '', identityToken: 'tok-for-https://index.docker.io/v1/' });
    expect(await store.get('q.example')).toEqual({ username: '', password: '', identityToken: 'tok-for-q.example' });
  });
});
