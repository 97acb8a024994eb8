import { DEFAULT_ADDRESS } from './globals';

/** An error the CLI reports as is (no "Error response from daemon"), with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Commands whose engine errors exit 125, as `docker run` does (the container's own codes are below 125). */
const RUN_LIKE = new Set(['run', 'create', 'exec', 'start']);

/** The command that starts berthd for `address`. */
export function startHint(address: string): string {
  return address === DEFAULT_ADDRESS ? 'berth daemon start' : `berth --address ${address} daemon start`;
}

/**
 * Prints `err` for a person and returns the exit code: CliError's own; for an unreachable berthd
 * the exact command that starts it; other engine errors as Docker prints them, exit 125 for
 * run/create/exec/start (Docker's "the error is with the engine") and 1 otherwise.
 */
export function reportError(err: unknown, argv: string[], command?: string, address?: string): number {
  const cmd = command ?? argv.find((a) => !a.startsWith('-'));
  const code = RUN_LIKE.has(cmd ?? '') ? 125 : 1;
  if (err instanceof CliError) {
    process.stderr.write(`berth: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as { kind?: string; message?: string; cause?: unknown };
  if (e.kind === 'Unavailable' && /connect|No connection|ENOENT|ECONNREFUSED|UNAVAILABLE/i.test(`${e.message} ${String((e.cause as Error | undefined)?.message ?? '')}`)) {
    const addr = address ?? addressFromArgv(argv);
    process.stderr.write(`berth: cannot connect to berthd at ${addr}: is it running?\nStart it with: ${startHint(addr)}\n`);
    return code;
  }
  if (e.kind) {
    // Errors that came over the wire carry the grpc-js error (numeric code) as their cause.
    const fromDaemon = typeof (e.cause as { code?: unknown } | undefined)?.code === 'number';
    process.stderr.write(`berth: ${fromDaemon ? 'Error response from daemon: ' : ''}${e.message}\n`);
    return code;
  }
  process.stderr.write(`berth: ${e.message ?? String(err)}\n`);
  return code;
}

function addressFromArgv(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-H' || a === '--address' || a === '--host') return (argv[i + 1] ?? DEFAULT_ADDRESS).replace(/^unix:\/\//, '');
    if (a.startsWith('--address=') || a.startsWith('--host=')) return a.slice(a.indexOf('=') + 1).replace(/^unix:\/\//, '');
    if (!a.startsWith('-')) break;
  }
  return process.env.BERTH_ADDRESS || DEFAULT_ADDRESS;
}
