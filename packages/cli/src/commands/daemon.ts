import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VersionClient, connect } from '@berth/client';
import { parseArgs, UsageError } from '../args';
import { CliError, startHint } from '../errors';
import { DEFAULT_ADDRESS, type Globals } from '../globals';

const USAGE = `Usage:  berth daemon start|stop|status [OPTIONS]

Runs a local berthd in the background.

Options (start):
      --root string      persistent state (default /var/lib/berth)
      --state string     runtime state (default: the socket's directory, /run/berth)
      --log string       log file (default <state>/berthd.log)
      --runtime string   crun, runc or a path (default: detected)
      --berthd string    the berthd program (env BERTHD; default: found next to berth or on PATH)
`;

/** `berth daemon start|stop|status`: a background berthd with default paths, a pid file and a log file. */
export default async function daemon(g: Globals, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags } = parseArgs(rest, {
    root: { kind: 'string' },
    state: { kind: 'string' },
    log: { kind: 'string' },
    runtime: { kind: 'string' },
    berthd: { kind: 'string' },
    timeout: { kind: 'string', short: 't' },
    help: { kind: 'bool' },
  });
  if (flags.help || sub === undefined) {
    process.stdout.write(USAGE);
    return sub === undefined ? 1 : 0;
  }
  const state = resolve(flags.state ?? dirname(g.address));
  const pidFile = join(state, 'berthd.pid');
  const logFile = resolve(flags.log ?? join(state, 'berthd.log'));
  const timeoutMs = Number(flags.timeout ?? 20) * 1000;
  switch (sub) {
    case 'start': {
      const running = await serverVersion(g.address);
      if (running) {
        process.stdout.write(`berthd is already running at ${g.address} (version ${running})\n`);
        return 0;
      }
      const program = findBerthd(flags.berthd);
      mkdirSync(state, { recursive: true, mode: 0o711 });
      mkdirSync(dirname(logFile), { recursive: true });
      const log = openSync(logFile, 'a');
      const args = ['--address', g.address, '--state', state, ...(flags.root ? ['--root', resolve(flags.root)] : []), ...(flags.runtime ? ['--runtime', flags.runtime] : [])];
      const [cmd, ...pre] = program.endsWith('.js') ? [process.execPath, program] : [program];
      const child = spawn(cmd!, [...pre, ...args], { detached: true, stdio: ['ignore', log, log], env: berthdEnv() });
      closeSync(log);
      let exited: number | null = null;
      child.once('exit', (code) => (exited = code ?? 1));
      writeFileSync(pidFile, `${child.pid}\n`);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited !== null) break;
        const v = await serverVersion(g.address);
        if (v) {
          child.unref();
          process.stdout.write(`berthd started (pid ${child.pid}) at ${g.address}; log: ${logFile}\n`);
          return 0;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (exited === null) child.kill('SIGTERM');
      rmSync(pidFile, { force: true });
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
      throw new CliError(`berthd did not start${exited !== null ? ` (exit ${exited})` : ' in time'}; last lines of ${logFile}:\n${tail}`);
    }
    case 'stop': {
      const pid = readPid(pidFile);
      if (pid === undefined || !alive(pid)) {
        rmSync(pidFile, { force: true });
        if (await serverVersion(g.address)) throw new CliError(`berthd at ${g.address} was not started by berth daemon start (no pid file at ${pidFile}); stop it the way it was started`);
        process.stdout.write(`berthd is not running at ${g.address}\n`);
        return 0;
      }
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + timeoutMs;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) throw new CliError(`berthd (pid ${pid}) did not stop within ${timeoutMs / 1000}s; kill it with: kill -9 ${pid}`);
      rmSync(pidFile, { force: true });
      process.stdout.write(`berthd stopped (pid ${pid}); containers keep running\n`);
      return 0;
    }
    case 'status': {
      const v = await serverVersion(g.address);
      const pid = readPid(pidFile);
      if (v) {
        process.stdout.write(`berthd is running at ${g.address} (version ${v}${pid !== undefined && alive(pid) ? `, pid ${pid}` : ''})\n`);
        return 0;
      }
      process.stdout.write(`berthd is not running at ${g.address}\nStart it with: ${startHint(g.address)}\n`);
      return 3;
    }
    default:
      throw new UsageError(`unknown daemon command "${sub}": want start, stop or status`);
  }
}

async function serverVersion(address: string): Promise<string | undefined> {
  const conn = connect(address);
  try {
    return (await new VersionClient(conn).version({ deadline: 1000 })).version;
  } catch {
    return undefined;
  } finally {
    conn.close();
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** berthd: `--berthd`, `$BERTHD`, next to this program (a workspace or node_modules/.bin), or on PATH. */
function findBerthd(explicit: string | undefined): string {
  const given = explicit ?? process.env.BERTHD;
  if (given) return given;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '..', '..', 'engine', 'dist', 'berthd.js'),
    join(here, '..', 'node_modules', '.bin', 'berthd'),
    join(here, '..', '..', '..', 'node_modules', '.bin', 'berthd'),
    join(here, '..', '..', '.bin', 'berthd'),
  ];
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(join(dir, 'berthd'));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new CliError(`cannot find berthd: install @berth/engine, put berthd on PATH, or pass --berthd PATH (looked next to ${here} and on PATH)`);
  return found;
}

export { DEFAULT_ADDRESS };

/**
 * berthd's environment: ours, with NODE_EXTRA_CA_CERTS given back (bin/berth passes it on as
 * BERTH_NODE_EXTRA_CA_CERTS so that Node does not parse the certificates for every command):
 * berthd pulls from registries and must trust what the user told Node to trust.
 */
export function berthdEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { BERTH_NODE_EXTRA_CA_CERTS: extra, ...rest } = env;
  return extra !== undefined && rest.NODE_EXTRA_CA_CERTS === undefined ? { ...rest, NODE_EXTRA_CA_CERTS: extra } : rest;
}
