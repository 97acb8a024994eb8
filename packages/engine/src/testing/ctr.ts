import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** containerd's `ctr` (1.6.20 on the test hosts); `BERTH_CTR` overrides the path. */
export const CTR = process.env.BERTH_CTR ?? '/usr/bin/ctr';

/** True when `ctr` is installed, for `describe.skipIf(!hasCtr)`. */
export const hasCtr = existsSync(CTR);

/** What one `ctr` run printed, and how it exited. */
export interface CtrResult {
  /** The exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `ctr` run that exited non-zero; the message is its stderr. */
export class CtrError extends Error {
  constructor(readonly result: CtrResult) {
    super(result.stderr.trim() || `ctr exited with code ${result.code}`);
    this.name = 'CtrError';
  }
}

/**
 * Runs `ctr --address <address> <args>` and returns how it went, never rejecting for a
 * non-zero exit. `CONTAINERD_*` variables are removed from ctr's environment, so the namespace
 * is `default` unless the args say `-n`. Killed after `timeoutMs` (default 30 s).
 */
export function runCtr(address: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<CtrResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONTAINERD_')));
  return new Promise((resolve, reject) =>
    execFile(CTR, ['--address', address, ...args], { env, timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && err.signal == null) return reject(err); // could not run at all
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    }),
  );
}

/** Runs `ctr --address <address> <args…>` and resolves its stdout; rejects with a CtrError when it fails. */
export async function ctr(address: string, ...args: string[]): Promise<string> {
  const result = await runCtr(address, args);
  if (result.code !== 0) throw new CtrError(result);
  return result.stdout;
}

/**
 * A `ctr` table as records keyed by column name: `ctrTable(out, ['NAME', 'LABELS'])`. ctr pads
 * its columns with Go's tabwriter (padding 1, so cells can be one space apart and headers such
 * as `CREATED AT` contain spaces), so cells are cut at the header's column offsets.
 */
export function ctrTable<C extends string>(stdout: string, columns: readonly C[]): Record<C, string>[] {
  const [header = '', ...rows] = stdout.split('\n').filter((l) => l.trim() !== '');
  const starts = columns.map((c) => {
    const at = header.search(new RegExp(`(^|\\s)${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`));
    if (at < 0) throw new Error(`ctr table: no column ${c} in ${JSON.stringify(header)}`);
    return at === 0 ? 0 : at + 1;
  });
  return rows.map((row) => {
    const record = {} as Record<C, string>;
    columns.forEach((c, i) => {
      record[c] = row.slice(starts[i], i + 1 < columns.length ? starts[i + 1] : undefined).trim();
    });
    return record;
  });
}
