import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  CONTAINER_IMAGE_LABEL,
  CONTAINER_NAME_LABEL,
  createContainer,
  expiringLeaseLabels,
  familiarString,
  LeasesClient,
  newLeaseId,
  normalizeReference,
  TransferClient,
  type BindMount,
  type CreateContainerOptions,
  type CreatedContainer,
} from '@berth/client';
import { parseArgs, UsageError, type FlagSpecs } from './args';
import { fileBlobCache } from './blob-cache';
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
async function claimName(ctx: Ctx, name: string | undefined): Promise<string> {
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

/** What `createNamedContainer` made; `leaseReleased` settles once the lease that guarded its snapshot is gone. */
export interface NamedContainer extends CreatedContainer {
  leaseReleased: Promise<void>;
}

/**
 * Docker's container creation for `run` and `create`: the name claimed (`name`, or a new one;
 * 125 when taken or malformed), the image found as Docker finds it (a name, else an image id or
 * a unique prefix of one; pulled when berthd has no such name), then `createContainer` under a
 * lease made here. The name check, the image lookup and the lease go out together, and the
 * lease is deleted in the background while the caller goes on (await `leaseReleased` before
 * exiting).
 */
export async function createNamedContainer(ctx: Ctx, name: string | undefined, opts: CreateContainerOptions): Promise<NamedContainer> {
  let ref: string | undefined;
  try {
    ref = normalizeReference(opts.image);
  } catch (err) {
    if (!/^(sha256:)?[0-9a-f]{4,64}$/.test(opts.image)) throw new CliError(`invalid reference format: ${opts.image}: ${(err as Error).message}`, 125);
  }
  const lease = newLeaseId();
  const leases = new LeasesClient(ctx.conn);
  const leasing = leases.create({ id: lease, labels: expiringLeaseLabels() });
  leasing.catch(() => {}); // its error, if any, is the one awaited below
  const release = () => leasing.then(() => leases.delete(lease)).catch(() => {});
  try {
    // The common case, in the same round trip as the name check: a name berthd has.
    const lookup = ref === undefined ? Promise.resolve(undefined) : ctx.images.get(ref).catch((err: unknown) => {
      if ((err as { kind?: string }).kind === 'NotFound') return undefined;
      throw err;
    });
    lookup.catch(() => {});
    const claimed = await claimName(ctx, name);
    const record = await lookup;
    if (!record) {
      const byId = await findImageNames(ctx, opts.image).catch((err: unknown) => {
        throw err instanceof CliError ? new CliError(err.message, 125) : err;
      });
      if (byId.length > 0) ref = byId[0]!;
      else if (ref === undefined) throw new CliError(`Unable to find image '${opts.image}' locally`, 125);
      else await pullMissing(ctx, ref);
    }
    await leasing;
    const created = await createContainer(ctx.conn.with({ lease }), {
      blobCache: fileBlobCache(),
      ...opts,
      image: ref!,
      labels: { ...opts.labels, [CONTAINER_NAME_LABEL]: claimed },
      ...(record ? { imageRecord: record } : {}),
    });
    return { ...created, leaseReleased: release() };
  } catch (err) {
    await release();
    throw err;
  }
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
