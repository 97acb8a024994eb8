import { familiarString, normalizeReference, parsePlatform, TransferClient } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { withCtx } from '../context';
import { progressPrinter } from '../progress';
import type { Globals } from '../globals';

/**
 * `berth pull [--plain-http] [--platform P | -a] NAME[:TAG|@DIGEST]`: berthd pulls the image
 * itself (its Transfer service: parallel downloads, unpack while downloading) and names it
 * with the normalized reference, as `docker pull` does. Progress goes to stdout: one line
 * per layer event, or a redrawn table when stdout is a terminal.
 */
export default async function pull(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    'plain-http': { kind: 'bool' },
    platform: { kind: 'string' },
    'all-platforms': { kind: 'bool', short: 'a' },
    quiet: { kind: 'bool', short: 'q' },
  });
  const [ref] = args;
  if (!ref || args.length > 1) throw new UsageError('"berth pull" requires exactly 1 argument: NAME[:TAG|@DIGEST]');
  const name = normalizeReference(ref);
  return withCtx(g, async (ctx) => {
    const progress = flags.quiet ? undefined : progressPrinter(process.stdout);
    await new TransferClient(ctx.conn).pull(name, {
      plainHttp: flags['plain-http'] ?? false,
      ...(flags['all-platforms'] ? { platforms: 'all' as const } : flags.platform ? { platforms: [parsePlatform(flags.platform)] } : {}),
      ...(progress ? { onProgress: progress.event } : {}),
    });
    progress?.done();
    process.stdout.write(`${flags.quiet ? '' : 'Status: Downloaded newer image for '}${familiarString(name)}\n`);
    return 0;
  });
}
