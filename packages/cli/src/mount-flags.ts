import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { BindMount, TmpfsMount } from '@berth/client';
import { CliError } from './errors';
import { parseBytes } from './limit-flags';

/** The mounts of `--mount` flags, by kind. */
export interface ParsedMounts {
  binds: BindMount[];
  tmpfs: TmpfsMount[];
}

/**
 * Docker's `--mount` syntax, comma-separated `key=value` fields: `type` (bind or tmpfs; volumes
 * are not supported), `source`/`src`, `target`/`destination`/`dst`, `readonly`/`ro` (bare, or
 * true/false/1/0), `bind-propagation` (accepted, rprivate only in effect), `tmpfs-size` (bytes
 * with units), `tmpfs-mode` (octal). Each bad flag is a CliError with Docker's wording, exit 125;
 * a bind source must exist, as Docker's daemon insists for `--mount`.
 */
export function parseMounts(specs: readonly string[]): ParsedMounts {
  const out: ParsedMounts = { binds: [], tmpfs: [] };
  for (const spec of specs) {
    const bad = (why: string): CliError => new CliError(`invalid argument "${spec}" for "--mount" flag: ${why}`, 125);
    const daemon = (type: string, why: string): CliError => new CliError(`Error response from daemon: invalid mount config for type "${type}": ${why}`, 125);
    let type = '';
    let source: string | undefined;
    let target: string | undefined;
    let readonly = false;
    let size: number | undefined;
    let mode: number | undefined;
    for (const field of spec.split(',')) {
      const eq = field.indexOf('=');
      const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
      const value = eq < 0 ? undefined : field.slice(eq + 1);
      if (value === undefined && key !== 'readonly' && key !== 'ro') throw bad(`invalid field '${field}' must be a key=value pair`);
      switch (key) {
        case 'type':
          type = value!.toLowerCase();
          break;
        case 'source':
        case 'src':
          source = value;
          break;
        case 'target':
        case 'destination':
        case 'dst':
          target = value;
          break;
        case 'readonly':
        case 'ro': {
          const v = (value ?? 'true').toLowerCase();
          if (!['true', '1', 'false', '0'].includes(v)) throw bad(`invalid value for ${key}: ${value}`);
          readonly = v === 'true' || v === '1';
          break;
        }
        case 'bind-propagation':
          if (!['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(value!)) throw bad(`invalid value for bind-propagation: ${value}`);
          break;
        case 'tmpfs-size':
          size = parseBytes(value!);
          if (size === undefined) throw bad(`invalid value for ${key}: ${value}`);
          break;
        case 'tmpfs-mode':
          if (!/^[0-7]{1,4}$/.test(value!)) throw bad(`invalid value for ${key}: ${value}`);
          mode = parseInt(value!, 8);
          break;
        case 'consistency':
          break;
        default:
          throw bad(`unexpected key '${key}' in '${field}'`);
      }
    }
    if (type === '') throw bad('type is required');
    if (!target) throw bad('target is required');
    if (!isAbsolute(target)) throw daemon(type, `invalid mount path: '${target}' mount path must be absolute`);
    if (type === 'bind') {
      if (size !== undefined || mode !== undefined) throw daemon(type, 'field TmpfsOptions must not be specified');
      if (!source) throw daemon(type, 'field Source must not be empty');
      const src = resolve(source);
      if (!existsSync(src)) throw daemon(type, `bind source path does not exist: ${src}`);
      out.binds.push({ source: src, destination: target, readonly });
    } else if (type === 'tmpfs') {
      if (source) throw daemon(type, 'field Source must not be specified');
      out.tmpfs.push({ destination: target, readonly, ...(size ? { size } : {}), ...(mode !== undefined ? { mode } : {}) });
    } else if (type === 'volume') {
      throw daemon(type, 'volumes are not supported by berth: use type=bind with a host path');
    } else {
      throw daemon(type, 'mount type unknown');
    }
  }
  return out;
}
