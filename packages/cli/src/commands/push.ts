import { familiarString, normalizeReference, TransferClient } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { withCtx } from '../context';
import { progressPrinter } from '../progress';
import type { Globals } from '../globals';

/** `berth push [--plain-http] NAME[:TAG]`: berthd pushes the image record NAME to its registry. */
export default async function push(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { 'plain-http': { kind: 'bool' }, quiet: { kind: 'bool', short: 'q' } });
  const [ref] = args;
  if (!ref || args.length > 1) throw new UsageError('"berth push" requires exactly 1 argument: NAME[:TAG]');
  const name = normalizeReference(ref);
  return withCtx(g, async (ctx) => {
    const progress = flags.quiet ? undefined : progressPrinter(process.stdout);
    await new TransferClient(ctx.conn).push(name, name, { plainHttp: flags['plain-http'] ?? false, ...(progress ? { onProgress: progress.event } : {}) });
    progress?.done();
    process.stdout.write(`pushed ${familiarString(name)}\n`);
    return 0;
  });
}
