import { availableParallelism } from 'node:os';
import type { ResourceLimits } from '@berth/client';
import { CliError } from './errors';

/** Docker's smallest `--memory` (the daemon refuses less). */
export const MIN_MEMORY = 6 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Docker's `RAMInBytes`: a decimal number with an optional binary unit, case-insensitive, with an
 * optional `b`/`ib` after it (`512m`, `1.5G`, `64kb`, `100`). Undefined when it does not parse.
 */
export function parseBytes(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(s.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** The values of `--memory`, `--cpus` and `--pids-limit` as flags gave them. */
export interface LimitFlags {
  memory?: string | undefined;
  cpus?: string | undefined;
  'pids-limit'?: string | undefined;
}

/**
 * The cgroup limits of `run`/`create` flags, checked as Docker checks them (CLI then daemon),
 * each failure a CliError with Docker's wording and exit 125: `--memory` in bytes with units and
 * at least 6MB; `--cpus` a decimal from 0.01 to this host's CPU count, as CFS quota over a
 * 100000 µs period; `--pids-limit` an integer (0 or negative: unlimited).
 */
export function resourceLimits(flags: LimitFlags): ResourceLimits | undefined {
  const out: ResourceLimits = {};
  if (flags.memory !== undefined) {
    const n = parseBytes(flags.memory);
    if (n === undefined) throw new CliError(`invalid argument "${flags.memory}" for "-m, --memory" flag: invalid size: '${flags.memory}'`, 125);
    if (n > 0 && n < MIN_MEMORY) throw new CliError('Error response from daemon: Minimum memory limit allowed is 6MB', 125);
    out.memory = n;
  }
  if (flags.cpus !== undefined) {
    const v = flags.cpus.trim();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v)) throw new CliError(`invalid argument "${flags.cpus}" for "--cpus" flag: failed to parse ${flags.cpus} as a rational number`, 125);
    const nano = Math.round(Number(v) * 1e9);
    const cpus = availableParallelism();
    if (nano < 0) throw new CliError(`Error response from daemon: invalid CPU value: ${v} (it must not be negative)`, 125);
    if (nano > 0 && (nano < 1e7 || nano > cpus * 1e9)) {
      throw new CliError(`Error response from daemon: Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`, 125);
    }
    if (nano > 0) {
      out.cpuPeriod = 100_000;
      out.cpuQuota = Math.round((nano * 100_000) / 1e9);
    }
  }
  if (flags['pids-limit'] !== undefined) {
    const v = flags['pids-limit'];
    if (!/^[+-]?\d+$/.test(v)) throw new CliError(`invalid argument "${v}" for "--pids-limit" flag: strconv.ParseInt: parsing "${v}": invalid syntax`, 125);
    out.pidsLimit = Number(v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
