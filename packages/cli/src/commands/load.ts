import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { familiarString, importArchive } from '@berth/client';
import { parseArgs } from '../args';
import { withCtx } from '../context';
import { CliError } from '../errors';
import { progressPrinter } from '../progress';
import type { Globals } from '../globals';

/** `berth load -i FILE` (or the archive on stdin): a `docker save` or OCI archive; progress on a terminal. */
export default async function load(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { input: { kind: 'string', short: 'i' }, quiet: { kind: 'bool', short: 'q' } });
  let path = flags.input;
  let tmp: string | undefined;
  if (!path) {
    if (process.stdin.isTTY) throw new CliError('requested load from stdin, but stdin is empty: use berth load -i FILE', 125);
    tmp = mkdtempSync(join(tmpdir(), 'berth-load-'));
    path = join(tmp, 'archive.tar');
    await pipeline(process.stdin, createWriteStream(path));
  }
  try {
    return await withCtx(g, async (ctx) => {
      // Docker draws progress bars on a terminal only; piped, the output is just the names.
      const progress = !flags.quiet && process.stdout.isTTY ? progressPrinter(process.stdout) : undefined;
      const loaded = await importArchive(ctx.conn, path!, progress ? { onProgress: progress.event } : {});
      progress?.done();
      if (!flags.quiet) for (const i of loaded) process.stdout.write(`Loaded image: ${familiarString(i.name)}\n`);
      return 0;
    });
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
