import { totalmem } from 'node:os';
import { decodeTaskStats, type ContainerRecord, type TaskStats } from '@berth/client';
import { parseArgs } from '../args';
import { findContainer, formatItem, nameOf, table, withCtx, type Ctx } from '../context';
import type { Globals } from '../globals';

/** The interval between the two samples CPU % is computed from. */
const SAMPLE_MS = 500;

interface Sample {
  at: number;
  stats: TaskStats;
}

/**
 * `berth stats [--no-stream] [-a] [--format json|TEMPLATE] [CONTAINER...]`: Docker's CONTAINER ID,
 * NAME, CPU %, MEM USAGE / LIMIT, MEM %, PIDS from Tasks.Metrics (cgroups v1 or v2). CPU % is the
 * CPU time used between two samples over the wall time between them (100% = one CPU). Without
 * `--no-stream` the table is printed again every second until interrupted.
 */
export default async function stats(g: Globals, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { 'no-stream': { kind: 'bool' }, all: { kind: 'bool', short: 'a' }, format: { kind: 'string' }, 'no-trunc': { kind: 'bool' } });
  return withCtx(g, async (ctx) => {
    const targets = args.length ? await Promise.all(args.map((a) => findContainer(ctx, a))) : await running(ctx, flags.all);
    const filters = targets.map((c) => `id==${c.id}`);
    let before = await sample(ctx, filters);
    let tty = false;
    for (;;) {
      await new Promise((r) => setTimeout(r, before.size ? SAMPLE_MS : 0));
      const after = await sample(ctx, filters);
      const rows = targets.map((c) => row(c, before.get(c.id), after.get(c.id), flags['no-trunc']));
      let out: string;
      if (flags.format && flags.format !== 'table') out = rows.map((r) => `${formatItem(flags.format!, r)}\n`).join('');
      else
        out = table(
          ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
          rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.PIDs]),
        );
      if (flags['no-stream']) {
        process.stdout.write(out);
        return 0;
      }
      tty ||= process.stdout.isTTY === true;
      process.stdout.write(tty ? `\x1b[2J\x1b[H${out}` : out);
      before = after;
      await new Promise((r) => setTimeout(r, 1000 - SAMPLE_MS));
    }
  });
}

/** The containers whose task is running (all containers with `-a`). */
async function running(ctx: Ctx, all: boolean): Promise<ContainerRecord[]> {
  const [containers, tasks] = await Promise.all([ctx.containers.list(), ctx.tasks.list()]);
  const up = new Set(tasks.filter((t) => t.status === 'running').map((t) => t.containerId));
  return containers.filter((c) => all || up.has(c.id));
}

async function sample(ctx: Ctx, filters: string[]): Promise<Map<string, Sample>> {
  const out = new Map<string, Sample>();
  if (filters.length === 0) return out;
  for (const m of await ctx.tasks.metrics(filters)) {
    const stats = decodeTaskStats(m.typeUrl, m.value);
    if (stats) out.set(m.id, { at: m.timestamp.getTime(), stats });
  }
  return out;
}

function row(c: ContainerRecord, a: Sample | undefined, b: Sample | undefined, noTrunc: boolean): Record<string, string> {
  let cpu = 0;
  if (a && b && b.at > a.at) cpu = ((b.stats.cpuNs - a.stats.cpuNs) / ((b.at - a.at) * 1e6)) * 100;
  const s = b?.stats;
  // An unlimited cgroup reports a huge (v1) or no (v2) limit: Docker shows the host's memory then.
  const limit = s ? (s.memoryLimit > 0 && s.memoryLimit < totalmem() ? s.memoryLimit : totalmem()) : 0;
  const id = noTrunc ? c.id : c.id.slice(0, 12);
  return {
    Container: id,
    ID: id,
    Name: nameOf(c),
    CPUPerc: `${Math.max(0, cpu).toFixed(2)}%`,
    MemUsage: `${bytesSize(s?.memoryUsage ?? 0)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit ? ((s?.memoryUsage ?? 0) / limit) * 100 : 0).toFixed(2)}%`,
    PIDs: String(s?.pids ?? 0),
  };
}

/** Docker's binary sizes (`units.BytesSize`: 4 significant digits, B/KiB/MiB/GiB). */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
