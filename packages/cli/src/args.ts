/**
 * A small argument parser with Docker's conventions: `--flag value`, `--flag=value`, `-f value`,
 * bundled short booleans (`-it`, `-dit`), repeatable flags collected into arrays, `--` ends the
 * flags, and (for commands that run something) flags stop at the first positional argument so
 * that `berth run busybox ls -l` keeps `-l` for the container.
 */

/** A flag's kind: boolean, a single string, or a repeatable string. */
export type FlagKind = 'bool' | 'string' | 'list';

export interface FlagSpec {
  kind: FlagKind;
  /** One-letter alias, without the dash. */
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['kind'] extends 'bool' ? boolean : S[K]['kind'] extends 'list' ? string[] : string | undefined;
};

export interface Parsed<S extends FlagSpecs> {
  flags: ParsedFlags<S>;
  args: string[];
}

/** A usage error: the CLI prints it with a hint and exits 125, as Docker does for flag errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `argv` against `specs`; `stopAtPositional` keeps everything after the first positional as arguments. */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S, stopAtPositional = false): Parsed<S> {
  const flags: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = spec.kind === 'bool' ? false : spec.kind === 'list' ? [] : undefined;
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const args: string[] = [];
  const set = (name: string, value: string | boolean): void => {
    const spec = specs[name]!;
    if (spec.kind === 'list') (flags[name] as string[]).push(String(value));
    else flags[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = specs[name];
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      if (spec.kind === 'bool') {
        const v = eq < 0 ? 'true' : a.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`invalid argument "${v}" for "--${name}" flag: want true or false`);
        set(name, v === 'true');
      } else if (eq >= 0) set(name, a.slice(eq + 1));
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        set(name, argv[++i]!);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const name = byShort.get(a[j]!);
        if (!name) throw new UsageError(`unknown shorthand flag: '${a[j]}' in ${a}`);
        if (specs[name]!.kind === 'bool') {
          set(name, true);
          continue;
        }
        const rest = a.slice(j + 1).replace(/^=/, '');
        if (rest) set(name, rest);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${a[j]}' in ${a}`);
          set(name, argv[++i]!);
        }
        break;
      }
      continue;
    }
    args.push(a);
    if (stopAtPositional) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags: flags as ParsedFlags<S>, args };
}
