/**
 * Merges `overrides` over `base`, both `KEY=value` lists: an override replaces the entry with the
 * same key in place, a new key is appended, and a bare `KEY` (no `=`) removes that key. Later
 * duplicates in `overrides` win. Returns a new array; the inputs are not changed.
 */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  const keyOf = (e: string): string => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  for (const o of overrides) {
    const key = keyOf(o);
    const at = out.findIndex((e) => keyOf(e) === key);
    if (!o.includes('=')) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = o;
    else out.push(o);
  }
  return out;
}
