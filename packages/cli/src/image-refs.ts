import { normalizeReference } from '@berth/client';
import type { Ctx } from './context';
import { CliError } from './errors';
import { imageRows } from './image-list';

/**
 * The image names `ref` stands for, as Docker resolves an IMAGE argument: a name (normalized,
 * `busybox` → `docker.io/library/busybox:latest`) that exists, else an image id or a unique
 * prefix of one (`sha256:` optional), which stands for every name of that image. An empty list
 * when nothing matches; a CliError when an id prefix matches several images.
 */
export async function findImageNames(ctx: Ctx, ref: string): Promise<string[]> {
  let name: string | undefined;
  try {
    name = normalizeReference(ref);
  } catch {
    // not a reference: maybe an id
  }
  if (name !== undefined && (await hasImage(ctx, name))) return [name];
  const hex = ref.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{4,64}$/.test(hex)) return [];
  // Only an id needs every image resolved (the id is its config's digest).
  const rows = await imageRows(ctx);
  const ids = new Set(rows.filter((r) => r.FullID.replace(/^sha256:/, '').startsWith(hex)).map((r) => r.FullID));
  if (ids.size > 1) throw new CliError(`Error response from daemon: multiple images match the id prefix ${ref}: use more of the id`);
  return rows.filter((r) => ids.has(r.FullID)).map((r) => r.Name);
}

/** `findImageNames`, with Docker's "No such image" (exit 1) when nothing matches. */
export async function imageNames(ctx: Ctx, ref: string): Promise<string[]> {
  const names = await findImageNames(ctx, ref);
  if (names.length === 0) throw new CliError(`Error response from daemon: No such image: ${ref}`);
  return names;
}

/** Whether berthd has an image record named `name` (one Images.Get). */
async function hasImage(ctx: Ctx, name: string): Promise<boolean> {
  try {
    await ctx.images.get(name);
    return true;
  } catch (err) {
    if ((err as { kind?: string }).kind === 'NotFound') return false;
    throw err;
  }
}
