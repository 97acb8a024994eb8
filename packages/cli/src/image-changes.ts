import type { ImportRootfsOptions } from '@berth/client';
import { CliError } from './errors';

type ImageRuntimeConfig = NonNullable<ImportRootfsOptions['config']>;

/**
 * The image config that `docker import --change` instructions give (Dockerfile syntax, one
 * instruction per flag): CMD, ENTRYPOINT (JSON array or shell form, which runs `/bin/sh -c`),
 * ENV (`K=V ...` or `K V`), WORKDIR, USER, LABEL (`K=V ...`), EXPOSE (`80[/tcp] ...`),
 * STOPSIGNAL, VOLUME (JSON array or paths). Anything else is Docker's "not a valid change
 * command" error (exit 1).
 */
export function imageChanges(changes: readonly string[]): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = {};
  for (const change of changes) {
    const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(change);
    const instruction = m?.[1]?.toUpperCase() ?? '';
    const rest = m?.[2] ?? '';
    switch (instruction) {
      case 'CMD':
        config.Cmd = command(rest);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = command(rest);
        break;
      case 'ENV':
        config.Env = merge(config.Env ?? [], pairs(rest, change).map(([k, v]) => `${k}=${v}`));
        break;
      case 'LABEL':
        config.Labels = { ...config.Labels, ...Object.fromEntries(pairs(rest, change)) };
        break;
      case 'WORKDIR':
        config.WorkingDir = rest;
        break;
      case 'USER':
        config.User = rest;
        break;
      case 'STOPSIGNAL':
        config.StopSignal = rest;
        break;
      case 'EXPOSE':
        config.ExposedPorts = { ...config.ExposedPorts };
        for (const p of rest.split(/\s+/).filter(Boolean)) config.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'VOLUME':
        config.Volumes = { ...config.Volumes };
        for (const v of rest.startsWith('[') ? jsonArray(rest, change) : rest.split(/\s+/).filter(Boolean)) config.Volumes[v] = {};
        break;
      default:
        throw new CliError(`Error response from daemon: ${instruction || change} is not a valid change command`);
    }
  }
  return config;
}

function command(rest: string): string[] {
  if (rest.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(rest);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      // shell form after all, as Docker treats an invalid JSON array
    }
  }
  return ['/bin/sh', '-c', rest];
}

function jsonArray(rest: string, change: string): string[] {
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // reported below
  }
  throw new CliError(`Error response from daemon: ${change}: not a JSON array of strings`);
}

/** `K=V K2="v 2"` or the legacy `K V` form. */
function pairs(rest: string, change: string): [string, string][] {
  if (!rest.includes('=')) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new CliError(`Error response from daemon: ${change}: needs a value`);
    return [[rest.slice(0, sp), rest.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  for (const m of rest.matchAll(/([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/g)) out.push([m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!]);
  return out;
}

function merge(env: string[], add: string[]): string[] {
  const out = env.filter((e) => !add.some((a) => a.split('=', 1)[0] === e.split('=', 1)[0]));
  return [...out, ...add];
}
