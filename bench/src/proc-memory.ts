import { readdirSync, readFileSync } from 'node:fs';

/** A field of /proc/PID/smaps_rollup (`Rss`, `Pss`) in KiB; 0 when the process is gone. */
function rollupKiB(pid: number, field: 'Rss' | 'Pss'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PSS of a process in KiB (its share of the pages it maps), 0 when it is gone. */
export const pssKiB = (pid: number): number => rollupKiB(pid, 'Pss');

/** RSS of a process in KiB (every resident page it maps, shared ones counted in full), 0 when it is gone. */
export const rssKiB = (pid: number): number => rollupKiB(pid, 'Rss');

/** Pids whose command line contains every one of `parts`. */
export function pidsMatching(...parts: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (parts.every((p) => cmdline.includes(p))) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** KiB as MiB with one decimal. */
export const mib = (kib: number): string => (kib / 1024).toFixed(1);
