import { readFileSync } from 'node:fs';

/**
 * The hard RLIMIT_NOFILE of this process (which the runtime inherits), read from
 * /proc/self/limits; `Infinity` when unlimited or when the file cannot be read or parsed.
 */
export function hostNofileHardLimit(limitsPath = '/proc/self/limits'): number {
  let text: string;
  try {
    text = readFileSync(limitsPath, 'utf8');
  } catch {
    return Infinity;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (!hard || hard === 'unlimited') return Infinity;
  const n = Number(hard);
  return Number.isSafeInteger(n) && n >= 0 ? n : Infinity;
}
