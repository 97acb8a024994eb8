import { CliError } from './errors';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Docker's time arguments (`logs --since/--until`, `events --since`), as unix ms: a Go duration
 * before now (`10m`, `1h30m`, `1.5s`), a unix time in seconds (`1700000000`, `1700000000.5`), or
 * an RFC 3339 date or date-time (`2024-01-02`, `2024-01-02T15:04:05Z`, with a fraction or an
 * offset; without a zone, local time). CliError (exit 1) naming the flag otherwise.
 */
export function parseTimeArg(value: string, flag: string, now = Date.now()): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (/^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    return Math.round(v.startsWith('-') ? now + ms : now - ms);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/.test(v)) {
    // A date alone is midnight local time, as Docker reads it (JavaScript would take UTC).
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00` : v.replace(' ', 'T'));
    if (!Number.isNaN(t)) return t;
  }
  throw new CliError(`invalid value for "${flag}": failed to parse value as time or duration: "${value}"`);
}
