/**
 * berth: a Docker-like command for berthd. The entry of the bundle bin.ts loads; it stays tiny
 * (no gRPC, no client library) so that `berth --help` starts fast: each subcommand's module is
 * imported only when it runs.
 */
import { UsageError } from './args';
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE, type Globals } from './globals';

type Command = (g: Globals, argv: string[]) => Promise<number>;
type Loader = () => Promise<{ default: Command }>;

const COMMANDS: Record<string, Loader> = {
  version: () => import('./commands/version'),
  info: () => import('./commands/info'),
  images: () => import('./commands/images'),
  load: () => import('./commands/load'),
  save: () => import('./commands/save'),
  import: () => import('./commands/import'),
  export: () => import('./commands/export'),
  attach: () => import('./commands/attach'),
  pull: () => import('./commands/pull'),
  push: () => import('./commands/push'),
  rmi: () => import('./commands/rmi'),
  tag: () => import('./commands/tag'),
  run: () => import('./commands/run'),
  create: () => import('./commands/create'),
  start: () => import('./commands/start'),
  stop: () => import('./commands/stop'),
  restart: () => import('./commands/restart'),
  kill: () => import('./commands/kill'),
  rm: () => import('./commands/rm'),
  ps: () => import('./commands/ps'),
  exec: () => import('./commands/exec'),
  logs: () => import('./commands/logs'),
  inspect: () => import('./commands/inspect'),
  wait: () => import('./commands/wait'),
  top: () => import('./commands/top'),
  stats: () => import('./commands/stats'),
  system: () => import('./commands/system'),
  login: () => import('./commands/login'),
  logout: () => import('./commands/logout'),
  events: () => import('./commands/events'),
  daemon: () => import('./commands/daemon'),
  __monitor: () => import('./commands/monitor'),
};

/** Docker's management-command spellings (`berth image ls`, `berth container rm`). */
const ALIASES: Record<string, Record<string, string>> = {
  image: { ls: 'images', list: 'images', rm: 'rmi', remove: 'rmi', load: 'load', save: 'save', import: 'import', pull: 'pull', push: 'push', tag: 'tag', inspect: 'inspect' },
  container: { ls: 'ps', list: 'ps', rm: 'rm', remove: 'rm', run: 'run', create: 'create', start: 'start', stop: 'stop', kill: 'kill', exec: 'exec', logs: 'logs', inspect: 'inspect', wait: 'wait', restart: 'restart', top: 'top', stats: 'stats', export: 'export', attach: 'attach' },
  system: { info: 'info', events: 'events' },
};

const USAGE = `Usage: berth [OPTIONS] COMMAND

A Docker-like command for berthd.

Options:
  -H, --address string     berthd's socket (env BERTH_ADDRESS, default ${DEFAULT_ADDRESS})
  -n, --namespace string   containerd namespace (env BERTH_NAMESPACE, default ${DEFAULT_NAMESPACE})
  -v, --version            print the client version and exit

Commands:
  run, create, start, stop, restart, kill, rm, ps, exec, logs, attach, inspect, wait, top, stats, export
  images, pull, push, load, save, import, rmi, tag, login, logout, events, info, version
  system df|prune
  daemon start|stop|status

Run 'berth COMMAND --help' for more information on a command.
`;

let current: Globals | undefined;

async function main(argv: string[]): Promise<number> {
  const g: Globals = { address: process.env.BERTH_ADDRESS || DEFAULT_ADDRESS, namespace: process.env.BERTH_NAMESPACE || DEFAULT_NAMESPACE };
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
      return v;
    };
    if (flag === '-H' || flag === '--address' || flag === '--host') g.address = value().replace(/^unix:\/\//, '');
    else if (flag === '-n' || flag === '--namespace') g.namespace = value();
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (flag === '-v' || flag === '--version') {
      const { clientVersionLine } = await import('./globals');
      process.stdout.write(`${clientVersionLine()}\n`);
      return 0;
    } else throw new UsageError(`unknown flag: ${flag}`);
  }
  let name = argv[i];
  let rest = argv.slice(i + 1);
  if (name === undefined || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 1 : 0;
  }
  const group = ALIASES[name];
  if (group && rest[0] && group[rest[0]]) {
    name = group[rest[0]]!;
    rest = rest.slice(1);
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`'${name}' is not a berth command.`);
  g.command = name;
  current = g;
  // Only before the first argument: `berth exec c ls --help` is the container's business.
  const firstArg = rest.findIndex((a) => !a.startsWith('-'));
  const head = firstArg < 0 ? rest : rest.slice(0, firstArg);
  if (head.includes('--help') && name !== 'run' && name !== 'create' && name !== 'daemon') {
    const { usageOf } = await import('./help');
    process.stdout.write(usageOf(name));
    return 0;
  }
  return (await load()).default(g, rest);
}

/**
 * Runs the berth command line `argv` (without `node berth`) and resolves with its exit code:
 * usage errors are 125, other failures what `reportError` makes of them. bin.ts, the program,
 * exits with it.
 */
export async function berthMain(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berth: ${err.message}\nSee 'berth --help'.\n`);
      return 125;
    }
    const { reportError } = await import('./errors');
    return reportError(err, argv, current?.command, current?.address);
  }
}
