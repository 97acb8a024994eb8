import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors';

/** The key Docker keeps Docker Hub's credentials under. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** The Docker config berthd's pulls read: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['DOCKER_CONFIG'] || join(homedir(), '.docker'), 'config.json');
}

/** The `auths` key of a server as Docker writes it: Docker Hub's v1 URL, else the host without a scheme or path. */
export function authKey(server: string | undefined): string {
  const host = (server ?? '').replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (host === '' || host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB_KEY;
  return host;
}

/** Reads the config (an empty one when the file does not exist). */
export function readDockerConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`${path}: not a JSON object: fix or remove it`);
}

/** Replaces the config atomically (a 0600 temp file in the same directory, then rename). */
export function writeDockerConfig(path: string, config: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
