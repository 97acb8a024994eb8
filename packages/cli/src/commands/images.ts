import { parseArgs } from '../args';
import { ago, formatItem, humanSize, table, withCtx } from '../context';
import type { Globals } from '../globals';
import { imageRows } from '../image-list';

/** `berth images [-q] [--format json|TEMPLATE] [REPOSITORY[:TAG]]`. */
export default async function images(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { quiet: { kind: 'bool', short: 'q' }, format: { kind: 'string' }, 'no-trunc': { kind: 'bool' }, all: { kind: 'bool', short: 'a' } });
  return withCtx(g, async (ctx) => {
    let rows = await imageRows(ctx);
    if (args[0]) {
      const [repo, tag] = args[0].split(':');
      rows = rows.filter((r) => (r.Repository === repo || r.Name.startsWith(`${repo}:`)) && (tag === undefined || r.Tag === tag));
    }
    rows.sort((a, b) => a.Repository.localeCompare(b.Repository) || a.Tag.localeCompare(b.Tag));
    if (flags.quiet) {
      const ids = [...new Set(rows.map((r) => (flags['no-trunc'] ? r.FullID : r.ID)))];
      process.stdout.write(ids.map((i) => `${i}\n`).join(''));
      return 0;
    }
    if (flags.format && flags.format !== 'table') {
      for (const r of rows) process.stdout.write(`${formatItem(flags.format, { ...r, ID: flags['no-trunc'] ? r.FullID : r.ID, Size: humanSize(r.Size), CreatedSince: ago(new Date(r.CreatedAt)) })}\n`);
      return 0;
    }
    process.stdout.write(
      table(
        ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
        rows.map((r) => [r.Repository, r.Tag, flags['no-trunc'] ? r.FullID : r.ID, ago(new Date(r.CreatedAt)), humanSize(r.Size)]),
      ),
    );
    return 0;
  });
}
