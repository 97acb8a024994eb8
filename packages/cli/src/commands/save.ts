import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { exportArchive } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { withCtx } from '../context';
import { CliError } from '../errors';
import type { Globals } from '../globals';
import { imageNames } from '../image-refs';

/**
 * `berth save [-o FILE] IMAGE...`: the images as one tar that `berth load`, `docker load` and
 * `ctr images import` read (an OCI layout with Docker's manifest.json), to FILE or to stdout
 * (not a terminal). With -o the archive is written next to FILE and renamed into place once
 * complete, so a failed save leaves no partial file.
 */
export default async function save(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { output: { kind: 'string', short: 'o' } });
  if (args.length === 0) throw new UsageError('"save" requires at least 1 argument.\nUsage:  berth save [OPTIONS] IMAGE [IMAGE...]');
  if (!flags.output && process.stdout.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  return withCtx(g, async (ctx) => {
    const names: string[] = [];
    for (const ref of args) names.push(...(await imageNames(ctx, ref)));
    if (!flags.output) {
      await exportArchive(ctx.conn, names, process.stdout);
      return 0;
    }
    if (!existsSync(dirname(flags.output))) throw new CliError(`failed to save image: invalid output path: directory "${dirname(flags.output)}" does not exist`);
    const tmp = join(dirname(flags.output), `.${basename(flags.output)}.berth-save-${process.pid}`);
    try {
      await exportArchive(ctx.conn, names, createWriteStream(tmp, { mode: 0o644 }));
      renameSync(tmp, flags.output);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return 0;
  });
}
