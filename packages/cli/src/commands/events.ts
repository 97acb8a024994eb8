import { EventsClient } from '@berth/client';
import { parseArgs } from '../args';
import { withCtx } from '../context';
import type { Globals } from '../globals';

/**
 * `berth events [--format json] [--filter topic=/tasks/exit]`: berthd's events in this
 * namespace as they happen, one per line (`TIME TOPIC PAYLOAD`), until interrupted.
 */
export default async function events(g: Globals, argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { format: { kind: 'string' }, filter: { kind: 'list', short: 'f' } });
  const filters = [`namespace==${g.namespace}`];
  for (const f of flags.filter) {
    const [k, v] = f.split('=', 2) as [string, string | undefined];
    if (k === 'topic' && v) filters[0] += `,topic=="${v}"`;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return withCtx(g, async (ctx) => {
    try {
      for await (const e of new EventsClient(ctx.conn).subscribe(filters, { signal: ac.signal })) {
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ time: e.timestamp.toISOString(), namespace: e.namespace, topic: e.topic, type: e.typeUrl, event: e.event ?? null })}\n`);
        else process.stdout.write(`${e.timestamp.toISOString()} ${human(e.topic, e.event ?? {})}\n`);
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
    }
    return 0;
  });
}

/** Docker's `TYPE ACTION ID (attributes)` for containerd's topics; others as `topic payload`. */
function human(topic: string, ev: Record<string, unknown>): string {
  const id = String(ev.containerId ?? ev.id ?? ev.name ?? ev.key ?? '');
  const docker: Record<string, string> = {
    '/containers/create': 'container create',
    '/containers/update': 'container update',
    '/containers/delete': 'container destroy',
    '/tasks/create': 'container create-task',
    '/tasks/start': 'container start',
    '/tasks/exit': 'container die',
    '/tasks/delete': 'container delete-task',
    '/tasks/oom': 'container oom',
    '/tasks/paused': 'container pause',
    '/tasks/resumed': 'container unpause',
    '/tasks/exec-added': 'container exec_create',
    '/tasks/exec-started': 'container exec_start',
    '/images/create': 'image create',
    '/images/update': 'image update',
    '/images/delete': 'image delete',
  };
  const action = docker[topic];
  if (!action) return `${topic} ${JSON.stringify(ev)}`;
  const attrs: string[] = [];
  if (topic === '/tasks/exit') attrs.push(`exitCode=${ev.exitStatus ?? 0}`);
  if (ev.execId) attrs.push(`execID=${ev.execId}`);
  if (typeof ev.image === 'string' && ev.image) attrs.push(`image=${ev.image}`);
  return `${action} ${id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}
