import { createInterface } from 'node:readline';
import { ContentClient, SnapshotsClient, familiarString, removeContainer, resolveImage, type ContainerRecord } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { formatItem, humanSize, table, withCtx, type Ctx } from '../context';
import type { Globals } from '../globals';
import { usageOf } from '../help';
import { imageRows } from '../image-list';
import { removeContainerFiles } from '../task-io';

/** `berth system df|prune` (`system info` and `system events` are aliases handled in berth.ts). */
export default async function system(g: Globals, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'df') return df(g, rest);
  if (sub === 'prune') return prune(g, rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usageOf('system'));
    return sub === undefined ? 1 : 0;
  }
  throw new UsageError(`unknown command "system ${sub}"`);
}

/** A container's writable layer size (its active snapshot's usage), 0 when it cannot be read. */
async function containerSize(ctx: Ctx, c: ContainerRecord): Promise<number> {
  if (!c.snapshotKey) return 0;
  try {
    return (await new SnapshotsClient(ctx.conn, c.snapshotter || 'overlayfs').usage(c.snapshotKey)).size;
  } catch {
    return 0;
  }
}

/** The ids of containers whose task runs (or is paused). */
async function runningIds(ctx: Ctx): Promise<Set<string>> {
  return new Set((await ctx.tasks.list()).filter((t) => t.status === 'running' || t.status === 'paused' || t.status === 'pausing').map((t) => t.containerId));
}

/** The blobs of each image (index or manifest, config, layers) with their size from Content.Info. */
async function imageBlobs(ctx: Ctx): Promise<{ name: string; blobs: Map<string, number> }[]> {
  const content = new ContentClient(ctx.conn);
  const sizeOf = async (digest: string): Promise<number> => content.info(digest).then((i) => i.size, () => 0);
  return Promise.all(
    (await ctx.images.list()).map(async (img) => {
      const digests = new Set<string>([img.target.digest]);
      try {
        const r = await resolveImage(content, img.target);
        digests.add(r.manifestDescriptor.digest);
        digests.add(r.configDescriptor.digest);
        for (const l of r.manifest.layers) digests.add(l.digest);
      } catch {
        // blobs missing: count what is there
      }
      const blobs = new Map<string, number>();
      for (const d of digests) blobs.set(d, await sizeOf(d));
      return { name: img.name, blobs };
    }),
  );
}

const total = (maps: Map<string, number>[]): number => {
  const all = new Map<string, number>();
  for (const m of maps) for (const [d, s] of m) all.set(d, s);
  return [...all.values()].reduce((a, b) => a + b, 0);
};

const pct = (part: number, whole: number): string => `${humanSize(part)} (${whole ? Math.round((part / whole) * 100) : 0}%)`;

/**
 * `berth system df [--format json|TEMPLATE]`: Docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE. Image
 * size is the namespace's distinct blobs of its images (compressed, from Content.Info); an image is
 * active when a container uses it. Container size is its writable snapshot's usage; active =
 * running. berth has no volumes and no build cache: those rows are zero.
 */
async function df(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { format: { kind: 'string' }, verbose: { kind: 'bool', short: 'v' } });
  return withCtx(g, async (ctx) => {
    const [images, containers, up] = await Promise.all([imageBlobs(ctx), ctx.containers.list(), runningIds(ctx)]);
    const used = new Set(containers.map((c) => c.image));
    const imagesSize = total(images.map((i) => i.blobs));
    // Reclaimable: what removing every unused image would free (blobs no used image shares).
    const reclaimImages = imagesSize - total(images.filter((i) => used.has(i.name)).map((i) => i.blobs));
    const sizes = await Promise.all(containers.map(async (c) => ({ c, size: await containerSize(ctx, c) })));
    const containersSize = sizes.reduce((a, s) => a + s.size, 0);
    const reclaimContainers = sizes.filter((s) => !up.has(s.c.id)).reduce((a, s) => a + s.size, 0);
    const rows = [
      { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => used.has(i.name)).length), Size: humanSize(imagesSize), Reclaimable: pct(reclaimImages, imagesSize) },
      { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => up.has(c.id)).length), Size: humanSize(containersSize), Reclaimable: pct(reclaimContainers, containersSize) },
      { Type: 'Local Volumes', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
      { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    ];
    if (flags.format && flags.format !== 'table') process.stdout.write(rows.map((r) => `${formatItem(flags.format!, r)}\n`).join(''));
    else process.stdout.write(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])));
    return 0;
  });
}

/** Docker's short spelling of an image name, or the name as is when it is not a reference. */
function familiar(name: string): string {
  try {
    return familiarString(name);
  } catch {
    return name;
  }
}

/** The namespace's content size (every blob, as Content.List reports them). */
async function contentSize(ctx: Ctx): Promise<number> {
  let n = 0;
  await new ContentClient(ctx.conn).walk((i) => {
    n += i.size;
  });
  return n;
}

/** Asks on the terminal (or reads a line of stdin); true for y/yes. */
async function confirm(question: string): Promise<boolean> {
  process.stdout.write(`${question} [y/N] `);
  const rl = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(line.trim());
}

/**
 * `berth system prune [-a] [-f]`: removes containers that are not running, then dangling images
 * (no tag), or with `-a` every image no container uses; berthd's garbage collection then frees
 * their blobs and snapshots. Prints what went and the space reclaimed (content and writable
 * layers). Asks first unless `-f`.
 */
async function prune(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { all: { kind: 'bool', short: 'a' }, force: { kind: 'bool', short: 'f' }, volumes: { kind: 'bool' } });
  if (!flags.force) {
    const what = flags.all ? '  - all images without at least one container associated to them' : '  - all dangling images';
    const ok = await confirm(`WARNING! This will remove:\n  - all stopped containers\n${what}\n\nAre you sure you want to continue?`);
    if (!ok) return 0;
  }
  return withCtx(g, async (ctx) => {
    const before = await contentSize(ctx);
    const up = await runningIds(ctx);
    const removed: string[] = [];
    let reclaimed = 0;
    for (const c of await ctx.containers.list()) {
      if (up.has(c.id)) continue;
      const size = await containerSize(ctx, c);
      await removeContainer(ctx.conn, c);
      removeContainerFiles(ctx, c.id);
      removed.push(c.id);
      reclaimed += size;
    }
    const used = new Set((await ctx.containers.list()).map((c) => c.image));
    const untagged: string[] = [];
    for (const r of await imageRows(ctx)) {
      if (used.has(r.Name) || !(flags.all || r.Tag === '<none>')) continue;
      await ctx.images.delete(r.Name, { sync: true });
      untagged.push(r.Name);
    }
    if (removed.length) process.stdout.write(`Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}\n`);
    if (untagged.length) process.stdout.write(`Deleted Images:\n${untagged.map((n) => `untagged: ${familiar(n)}\n`).join('')}\n`);
    reclaimed += Math.max(0, before - (await contentSize(ctx)));
    process.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
    return 0;
  });
}
