import { invalidArgument } from '@berth/errdefs';
import type { Mount } from '@berth/snapshots';

/**
 * How a set of mounts is written to or read from, without mounting when that can be avoided:
 * - `overlay`: one overlay mount with an upper directory: work in `upper` directly, with
 *   `lowers` (top first) as the read-only layers below;
 * - `dir`: one bind mount: its source directory is the filesystem;
 * - `mount`: anything else; it has to be mounted (`withMounts` from `@berth/snapshots`).
 */
export type MountTarget =
  | { kind: 'overlay'; upper: string; work?: string; lowers: string[] }
  | { kind: 'dir'; dir: string }
  | { kind: 'mount'; mounts: Mount[] };

/** Classifies `mounts`. An empty list is InvalidArgument. */
export function mountTarget(mounts: readonly Mount[], what: string): MountTarget {
  if (mounts.length === 0) throw invalidArgument(`${what}: no mounts`);
  if (mounts.length === 1 && !mounts[0]!.target) {
    const m = mounts[0]!;
    if (m.type === 'overlay') {
      const opts = overlayOptions(m.options);
      if (opts.upper !== undefined) return { kind: 'overlay', upper: opts.upper, work: opts.work, lowers: opts.lowers };
    }
    if (m.type === 'bind' || (m.type === 'none' && m.options.some((o) => o === 'bind' || o === 'rbind'))) {
      return { kind: 'dir', dir: m.source };
    }
  }
  return { kind: 'mount', mounts: [...mounts] };
}

/** The `lowerdir=` (split on `:`, top first), `upperdir=` and `workdir=` options of an overlay mount. */
export function overlayOptions(options: readonly string[]): { lowers: string[]; upper?: string; work?: string } {
  const out: { lowers: string[]; upper?: string; work?: string } = { lowers: [] };
  for (const o of options) {
    if (o.startsWith('lowerdir=')) out.lowers = o.slice('lowerdir='.length).split(':').filter((d) => d !== '');
    else if (o.startsWith('upperdir=')) out.upper = o.slice('upperdir='.length);
    else if (o.startsWith('workdir=')) out.work = o.slice('workdir='.length);
  }
  return out;
}

/**
 * Runs `fn` with the directory of `target`: the bind source or a temporary mount (unmounted
 * after `fn`, even when it throws). Not for `overlay` targets, which callers handle themselves.
 */
export async function withDirectory<T>(target: MountTarget, fn: (dir: string) => Promise<T>): Promise<T> {
  if (target.kind === 'dir') return fn(target.dir);
  if (target.kind === 'overlay') {
    return withMounts([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${target.lowers.join(':')}`, `upperdir=${target.upper}`, `workdir=${target.work}`] }], fn);
  }
  return withMounts(target.mounts, fn);
}

async function withMounts<T>(mounts: Mount[], fn: (dir: string) => Promise<T>): Promise<T> {
  // Imported lazily: bind and overlay-upper applies never mount, and need nothing else from it.
  const { withMounts: mountAndRun } = await import('@berth/snapshots');
  return mountAndRun(mounts, fn);
}
