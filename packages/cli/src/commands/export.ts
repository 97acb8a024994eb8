import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { exportContainer } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { findContainer, withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/**
 * `berth export [-o FILE] CONTAINER`: the container's root filesystem as a tar (image layers
 * and the container's changes merged; mounts are not included), to FILE or to stdout (not a
 * terminal). With -o the tar is renamed into place once complete.
 */
export default async function exportCmd(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { output: { kind: 'string', short: 'o' } });
  if (args.length !== 1) throw new UsageError('"export" requires exactly 1 argument.\nUsage:  berth export [OPTIONS] CONTAINER');
  if (!flags.output && process.stdout.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  return withCtx(g, async (ctx) => {
    const c = await findContainer(ctx, args[0]!);
    if (!flags.output) {
      await exportContainer(ctx.conn, c, process.stdout);
      return 0;
    }
    if (!existsSync(dirname(flags.output))) throw new CliError(`failed to export container: invalid output path: directory "${dirname(flags.output)}" does not exist`);
    const tmp = join(dirname(flags.output), `.${basename(flags.output)}.berth-export-${process.pid}`);
    try {
      await exportContainer(ctx.conn, c, createWriteStream(tmp, { mode: 0o644 }));
      renameSync(tmp, flags.output);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return 0;
  });
}
