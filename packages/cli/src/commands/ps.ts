import { parseArgs } from '../args';
import { formatItem, table, withCtx } from '../context';
import { containerRows, type ContainerRow } from '../container-list';
import { CliError } from '../errors';
import type { Globals } from '../globals';

/** `berth ps [-a] [-q] [--no-trunc] [--format json|TEMPLATE]`: running containers, all with `-a`. */
export default async function ps(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { all: { kind: 'bool', short: 'a' }, quiet: { kind: 'bool', short: 'q' }, format: { kind: 'string' }, 'no-trunc': { kind: 'bool' }, filter: { kind: 'list', short: 'f' } });
  const filters = flags.filter.map(parseFilter);
  return withCtx(g, async (ctx) => {
    let rows = await containerRows(ctx);
    // Docker: a status filter implies -a; filters of one key OR, of different keys AND.
    if (!flags.all && !filters.some((f) => f.key === 'status')) rows = rows.filter((r) => r.State === 'running' || r.State === 'paused');
    const keys = new Set(filters.map((f) => f.key));
    rows = rows.filter((r) => [...keys].every((k) => filters.filter((f) => f.key === k).some((f) => matches(r, f))));
    if (flags['no-trunc']) rows = rows.map((r) => ({ ...r, ID: r.FullID }));
    if (flags.quiet) {
      process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
      return 0;
    }
    if (flags.format && flags.format !== 'table') {
      for (const r of rows) {
        const { FullID: _, ...item } = r;
        process.stdout.write(`${formatItem(flags.format, { ...item, Labels: Object.entries(r.Labels).map(([k, v]) => `${k}=${v}`).join(',') })}\n`);
      }
      return 0;
    }
    const cmd = (c: string) => (flags['no-trunc'] || c.length <= 22 ? c : `${c.slice(0, 19)}…"`);
    process.stdout.write(table(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], rows.map((r) => [r.ID, r.Image, cmd(r.Command), r.RunningFor, r.Status, r.Names])));
    return 0;
  });
}

interface Filter {
  key: 'name' | 'id' | 'status' | 'label' | 'ancestor';
  value: string;
}

function parseFilter(s: string): Filter {
  const eq = s.indexOf('=');
  const key = s.slice(0, eq);
  if (eq < 0 || !['name', 'id', 'status', 'label', 'ancestor'].includes(key)) throw new CliError(`invalid filter '${s}': want name=, id=, status=, label= or ancestor=`, 125);
  return { key: key as Filter['key'], value: s.slice(eq + 1) };
}

function matches(r: ContainerRow, f: Filter): boolean {
  switch (f.key) {
    case 'name':
      return r.Names.includes(f.value);
    case 'id':
      return r.FullID.startsWith(f.value);
    case 'status':
      return r.State === f.value;
    case 'ancestor':
      return r.Image === f.value;
    case 'label': {
      const eq = f.value.indexOf('=');
      return eq < 0 ? f.value in r.Labels : r.Labels[f.value.slice(0, eq)] === f.value.slice(eq + 1);
    }
  }
}
