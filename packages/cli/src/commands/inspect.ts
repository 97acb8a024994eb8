import { CONTAINER_NAME_LABEL, normalizeReference, resolveImage, ContentClient } from '@berth/client';
import { parseArgs } from '../args';
import { findContainer, formatItem, taskOf, withCtx } from '../context';
import { rowOf } from '../container-list';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { hostConfig, userMounts } from '../inspect-container';

/** `berth inspect [--type container|image] [-f TEMPLATE] NAME...`: JSON details of containers or images. */
export default async function inspect(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { type: { kind: 'string' }, format: { kind: 'string', short: 'f' } });
  return withCtx(g, async (ctx) => {
    const out: Record<string, unknown>[] = [];
    let code = 0;
    for (const ref of args) {
      let item: Record<string, unknown> | undefined;
      if (flags.type !== 'image') {
        try {
          const c = await findContainer(ctx, ref);
          const t = await taskOf(ctx, c.id);
          const row = rowOf(c, t);
          item = {
            Id: c.id,
            Name: `/${c.labels[CONTAINER_NAME_LABEL] ?? c.id.slice(0, 12)}`,
            Created: c.createdAt.toISOString(),
            Path: c.spec.process?.args?.[0] ?? '',
            Args: c.spec.process?.args?.slice(1) ?? [],
            State: {
              Status: row.State,
              Running: row.State === 'running',
              Paused: row.State === 'paused',
              Pid: t?.pid ?? 0,
              ExitCode: t?.status === 'stopped' ? t.exitStatus : 0,
              FinishedAt: t?.status === 'stopped' && t.exitedAt.getTime() > 0 ? t.exitedAt.toISOString() : '0001-01-01T00:00:00Z',
            },
            Image: c.image,
            Config: {
              Hostname: c.spec.hostname ?? '',
              User: c.spec.process?.user ? `${c.spec.process.user.uid}:${c.spec.process.user.gid}` : '',
              Env: c.spec.process?.env ?? [],
              Cmd: c.spec.process?.args ?? [],
              WorkingDir: c.spec.process?.cwd ?? '/',
              Tty: c.spec.process?.terminal ?? false,
              Image: c.labels['berth/image'] ?? c.image,
              Labels: c.labels,
            },
            HostConfig: hostConfig(c.spec),
            Mounts: userMounts(c.spec),
            Snapshotter: c.snapshotter,
            Namespace: g.namespace,
          };
        } catch (err) {
          if (!(err instanceof CliError) || flags.type === 'container') throw err;
        }
      }
      if (!item && flags.type !== 'container') {
        try {
          const img = await ctx.images.get(normalizeReference(ref));
          const r = await resolveImage(new ContentClient(ctx.conn), img.target);
          item = {
            Id: r.configDescriptor.digest,
            RepoTags: [img.name],
            RepoDigests: [`${img.name.replace(/:[^:/]+$/, '')}@${img.target.digest}`],
            Created: r.config.created ?? img.createdAt.toISOString(),
            Architecture: r.config.architecture,
            Os: r.config.os,
            Size: r.size,
            Config: r.config.config ?? {},
            RootFS: { Type: 'layers', Layers: r.config.rootfs.diff_ids },
          };
        } catch {
          // neither
        }
      }
      if (item) out.push(item);
      else {
        process.stderr.write(`berth: Error: No such object: ${ref}\n`);
        code = 1;
      }
    }
    if (flags.format) for (const i of out) process.stdout.write(`${formatItem(flags.format, i)}\n`);
    else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
    return code;
  });
}
