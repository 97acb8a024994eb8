import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CONTAINER_IMAGE_LABEL, CONTAINER_NAME_LABEL, createContainer, familiarString, normalizeReference, TransferClient, type BindMount, type CreateContainerOptions } from '@berth/client';
import { parseArgs, UsageError, type FlagSpecs } from './args';
import { CliError } from './errors';
import { type Ctx } from './context';
import { resourceLimits } from './limit-flags';
import { parseMounts } from './mount-flags';
import { findImageNames } from './image-refs';
import { progressPrinter } from './progress';

/** The flags `run` and `create` share (Docker's). */
export const CREATE_FLAGS = {
  interactive: { kind: 'bool', short: 'i' },
  tty: { kind: 'bool', short: 't' },
  env: { kind: 'list', short: 'e' },
  'env-file': { kind: 'list' },
  workdir: { kind: 'string', short: 'w' },
  user: { kind: 'string', short: 'u' },
  name: { kind: 'string' },
  entrypoint: { kind: 'string' },
  hostname: { kind: 'string', short: 'h' },
  label: { kind: 'list', short: 'l' },
  volume: { kind: 'list', short: 'v' },
  mount: { kind: 'list' },
  'read-only': { kind: 'bool' },
  memory: { kind: 'string', short: 'm' },
  cpus: { kind: 'string' },
  'pids-limit': { kind: 'string' },
  network: { kind: 'string' },
  net: { kind: 'string' },
  help: { kind: 'bool' },
} satisfies FlagSpecs;

export const RUN_FLAGS = { ...CREATE_FLAGS, detach: { kind: 'bool', short: 'd' }, rm: { kind: 'bool' } } satisfies FlagSpecs;

/** Parses `run`/`create` arguments: flags, then IMAGE [COMMAND [ARG...]]. */
export function parseRun<S extends typeof CREATE_FLAGS>(argv: string[], specs: S, usage: string) {
  const parsed = parseArgs(argv, specs, true);
  if (parsed.flags.help) return { ...parsed, help: usage };
  if (parsed.args.length === 0) throw new UsageError(`"${usage.split(' ')[1]}" requires at least 1 argument.\nUsage:  ${usage}`);
  return { ...parsed, help: undefined };
}

/** The container options from parsed `run`/`create` flags. */
export function createOptions(flags: ReturnType<typeof parseRun<typeof CREATE_FLAGS>>['flags'], args: string[]): CreateContainerOptions {
  const [image, ...cmd] = args as [string, ...string[]];
  const env: string[] = [];
  for (const file of flags['env-file']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, 125);
    }
    for (const line of text.split('\n')) {
      const l = line.trim();
      if (l && !l.startsWith('#')) env.push(l);
    }
  }
  env.push(...flags.env);
  const labels: Record<string, string> = { [CONTAINER_IMAGE_LABEL]: image };
  for (const l of flags.label) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const mounts: BindMount[] = flags.volume.map((v) => {
    const parts = v.split(':');
    if (parts.length < 2 || parts.length > 3) throw new CliError(`invalid volume specification: '${v}' (want /host/path:/container/path[:ro])`, 125);
    const [src, dst, mode] = parts as [string, string, string | undefined];
    if (!isAbsolute(src) && !src.startsWith('.')) throw new CliError(`invalid volume specification: '${v}': named volumes are not supported; use an absolute host path`, 125);
    if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw new CliError(`invalid mode: ${mode}`, 125);
    return { source: resolve(src), destination: dst, readonly: mode === 'ro' };
  });
  const extra = parseMounts(flags.mount);
  mounts.push(...extra.binds);
  const resources = resourceLimits(flags);
  const net = flags.network ?? flags.net ?? 'none';
  if (net !== 'none' && net !== 'host') throw new CliError(`network ${net} not found (berth has --network none and host)`, 125);
  return {
    image,
    ...(cmd.length ? { args: cmd } : {}),
    ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint === '' ? [] : [flags.entrypoint] } : {}),
    env,
    ...(flags.workdir ? { cwd: flags.workdir } : {}),
    ...(flags.user ? { user: flags.user } : {}),
    terminal: flags.tty,
    ...(flags.hostname ? { hostname: flags.hostname } : {}),
    mounts,
    ...(extra.tmpfs.length ? { tmpfs: extra.tmpfs } : {}),
    ...(flags['read-only'] ? { readonlyRootfs: true } : {}),
    ...(resources ? { resources } : {}),
    hostNetwork: net === 'host',
    labels,
  };
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nifty', 'quirky', 'relaxed', 'sharp', 'tender', 'vivid', 'witty', 'zealous'];
const NOUNS = ['albatross', 'barnacle', 'cormorant', 'dolphin', 'ferry', 'gull', 'harbor', 'jetty', 'kelp', 'lighthouse', 'mooring', 'narwhal', 'otter', 'pelican', 'quay', 'schooner', 'tugboat', 'wharf'];

/**
 * Checks that `name` is free in the namespace (Docker's Conflict error, exit 125) or, with none,
 * makes a free random one (`adjective_noun`).
 */
export async function claimName(ctx: Ctx, name: string | undefined): Promise<string> {
  const taken = new Map((await ctx.containers.list()).map((c) => [c.labels[CONTAINER_NAME_LABEL], c.id]));
  if (name !== undefined) {
    const n = name.replace(/^\//, '');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n)) throw new CliError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, 125);
    const owner = taken.get(n);
    if (owner) throw new CliError(`Conflict. The container name "/${n}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`, 125);
    return n;
  }
  for (let i = 0; ; i++) {
    const n = `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}_${NOUNS[Math.floor(Math.random() * NOUNS.length)]}${i > 10 ? i : ''}`;
    if (!taken.has(n)) return n;
  }
}

/**
 * `createContainer`, with the image found as Docker finds it (a name, else an image id or a
 * unique prefix of one) and Docker's message (exit 125) when berthd does not have it.
 */
export async function createFromImage(ctx: Ctx, opts: CreateContainerOptions): ReturnType<typeof createContainer> {
  let name: string | undefined;
  try {
    name = normalizeReference(opts.image);
  } catch (err) {
    if (!/^(sha256:)?[0-9a-f]{4,64}$/.test(opts.image)) throw new CliError(`invalid reference format: ${opts.image}: ${(err as Error).message}`, 125);
  }
  // The common case first, one call: a name berthd has (its record goes on to createContainer).
  const record = name === undefined ? undefined : await ctx.images.get(name).catch((err: unknown) => {
    if ((err as { kind?: string }).kind === 'NotFound') return undefined;
    throw err;
  });
  if (!record) {
    const byId = await findImageNames(ctx, opts.image).catch((err: unknown) => {
      throw err instanceof CliError ? new CliError(err.message, 125) : err;
    });
    if (byId.length > 0) name = byId[0]!;
    else if (name === undefined) throw new CliError(`Unable to find image '${opts.image}' locally`, 125);
    else await pullMissing(ctx, name);
  }
  return createContainer(ctx.conn, { ...opts, image: name!, ...(record ? { imageRecord: record } : {}) });
}

/**
 * Docker's `run`/`create` of an image it does not have: says so on stderr, pulls it (progress on
 * stderr, stdout stays the container's), then goes on. A failed pull is the command's error (125).
 */
async function pullMissing(ctx: Ctx, name: string): Promise<void> {
  process.stderr.write(`Unable to find image '${familiarString(name)}' locally\n`);
  const progress = progressPrinter(process.stderr);
  try {
    await new TransferClient(ctx.conn).pull(name, { onProgress: progress.event });
  } catch (err) {
    throw new CliError(`pull ${familiarString(name)}: ${(err as Error).message}`, 125);
  } finally {
    progress.done();
  }
  process.stderr.write(`Status: Downloaded newer image for ${familiarString(name)}\n`);
}
