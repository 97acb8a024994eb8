import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalidArgument, notFound, unauthenticated } from '@berth/errdefs';
import { dockerHubHost } from './hosts';
import type { CredentialStore, Credentials } from './types';

/** The key Docker stores Docker Hub's credentials under. */
export const dockerHubAuthKey = 'https://index.docker.io/v1/';

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The host a config key names: `https://host:5000/v1/` → `host:5000`; Docker Hub's names → its key's host. */
function keyHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'docker.io' || host === dockerHubHost ? 'index.docker.io' : host;
}

/** The names a helper may know `host` by: Docker Hub by its v1 URL, others by `host` and `https://host`. */
function helperNames(host: string): string[] {
  return keyHost(host) === 'index.docker.io' ? [dockerHubAuthKey] : [host, `https://${host}`];
}

function fromEntry(entry: AuthEntry, where: string): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) throw invalidArgument(`${where}: "auth" is not base64 of user:password`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) return { username, password, identityToken: entry.identitytoken };
  return username || password ? { username, password } : undefined;
}

/** Options of `dockerConfigCredentials`. */
export interface DockerConfigOptions {
  /** The environment helpers run with (their `PATH` finds `docker-credential-*`). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Credentials from a Docker `config.json` (default `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`), read on first use and cached with each helper's answers. For a
 * host, `credHelpers[host]` wins, then `credsStore`, then `auths` (`auth` as base64
 * `user:password`, or `username`/`password`, and `identitytoken`). Keys match by host, so
 * `https://host:5000/v1/` serves `host:5000`; Docker Hub (`registry-1.docker.io`) uses the
 * `https://index.docker.io/v1/` entry. Helpers are the `docker-credential-<name> get` programs:
 * the server URL on stdin, `{"Username","Secret"}` on stdout, a username of `<token>` meaning
 * an identity token. A missing file means no credentials; a malformed one is InvalidArgument,
 * a failing helper Unauthenticated.
 */
export function dockerConfigCredentials(path?: string, opts: DockerConfigOptions = {}): CredentialStore {
  const env = opts.env ?? process.env;
  const file = path ?? join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
  let config: Promise<DockerConfig> | undefined;
  const answers = new Map<string, Promise<Credentials | undefined>>();

  const load = async (): Promise<DockerConfig> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      return JSON.parse(text) as DockerConfig;
    } catch (err) {
      throw invalidArgument(`docker config ${file}: ${(err as Error).message}`, { cause: err });
    }
  };

  const lookup = async (host: string): Promise<Credentials | undefined> => {
    const cfg = await (config ??= load());
    const want = keyHost(host);
    const helperKey = Object.keys(cfg.credHelpers ?? {}).find((k) => keyHost(k) === want);
    const helper = helperKey !== undefined ? cfg.credHelpers![helperKey] : cfg.credsStore;
    if (helper) {
      for (const name of helperNames(host)) {
        const got = await runHelper(helper, name, env);
        if (got) return got;
      }
      return undefined;
    }
    for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
      if (keyHost(key) === want) return fromEntry(entry, `docker config ${file}: auths[${JSON.stringify(key)}]`);
    }
    return undefined;
  };

  return {
    get(host) {
      let answer = answers.get(host);
      if (!answer) {
        answer = lookup(host);
        answers.set(host, answer);
        answer.catch(() => answers.delete(host));
      }
      return answer;
    },
  };
}

/** Runs `docker-credential-<helper> get` for `server`; undefined when the helper has nothing for it. */
export function runHelper(helper: string, server: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { env, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const text = `${stdout}${stderr}`.trim();
        // The helper protocol's answer for an unknown server.
        if (/credentials not found/i.test(text)) return resolve(undefined);
        const e = (err as NodeJS.ErrnoException).code === 'ENOENT' ? notFound(`credential helper ${program}: not found on PATH`) : err;
        return reject(unauthenticated(`credential helper ${program} for ${server}: ${text || (e as Error).message}`, { cause: e }));
      }
      try {
        const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!out.Secret && !out.Username) return resolve(undefined);
        if (out.Username === '<token>') return resolve({ username: '', password: '', identityToken: out.Secret ?? '' });
        resolve({ username: out.Username ?? '', password: out.Secret ?? '' });
      } catch (e) {
        reject(unauthenticated(`credential helper ${program} for ${server}: unreadable answer`, { cause: e }));
      }
    });
    child.stdin?.end(server);
  });
}

/** A store of fixed credentials by host (`{ '127.0.0.1:5000': { username, password } }`). */
export function staticCredentials(byHost: Record<string, Credentials>): CredentialStore {
  return { get: async (host) => byHost[host] };
}
