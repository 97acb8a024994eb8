import { invalidArgument } from '@berth/errdefs';
import { FilterScanner, Token, unquote, type Scanned } from './filter-scanner';

/**
 * Maps a fieldpath (`['labels', 'a.b']`) to the value of that field on one object, or
 * undefined when the field is not present. How paths map to fields is the adaptor's choice;
 * containerd follows protobuf field-mask names (`name`, `labels.<key>`, `target.digest`).
 */
export interface Adaptor {
  field(fieldpath: string[]): string | undefined;
}

/** A parsed filter. `match` is pure and may be called any number of times. */
export interface Filter {
  match(adaptor: Adaptor): boolean;
}

const always: Filter = { match: () => true };

/**
 * Parses any number of filter strings into one filter that matches when any of them matches
 * (OR across strings, as containerd's `List` requests do). No strings, or any empty string,
 * matches everything. Throws InvalidArgument (see `parseFilter`) on the first bad string.
 */
export function parseFilters(...filters: string[]): Filter {
  if (filters.length === 0) return always;
  const parsed = filters.map(parseFilter);
  if (parsed.length === 1) return parsed[0]!;
  return { match: (adaptor) => parsed.some((f) => f.match(adaptor)) };
}

/**
 * Parses one filter string in containerd's syntax: comma-separated selectors that must all
 * match (AND).
 *
 * ```
 * selectors := selector ("," selector)*
 * selector  := fieldpath [ ("==" | "!=" | "~=") value ]
 * fieldpath := field ("." field)*
 * field     := [A-Za-z0-9_]+ | "double-quoted"
 * value     := "double-quoted" | [^\s,]+   (a ~= value may also be /quoted/ or |quoted|)
 * ```
 *
 * Quoted text uses Go string escapes (`\"`, `\\`, `\n`, `\x41`, `\u00e9`, …); inside `/…/` and
 * `|…|` the quote character itself is escaped with a backslash. White space is allowed before
 * a token but not after the last one.
 *
 * Semantics: a bare fieldpath is true when the field is present; `==` needs the field present
 * and equal; `!=` and `~=` test an absent field as the empty string (so `!=` with a non-empty
 * value matches an absent field); `~=` is an unanchored search with a JavaScript regular
 * expression (a leading Go flag group such as `(?i)` becomes the matching flag).
 *
 * The empty string matches everything. A syntax error or an invalid regular expression throws
 * InvalidArgument naming the position.
 */
export function parseFilter(filter: string): Filter {
  if (filter === '') return always;
  return new Parser(filter).parse();
}

type Operator = '==' | '!=' | '~=';

function selector(fieldpath: string[], op?: Operator, value = '', re?: RegExp): Filter {
  switch (op) {
    case undefined:
      return { match: (a) => a.field(fieldpath) !== undefined };
    case '==':
      return { match: (a) => a.field(fieldpath) === value };
    case '!=':
      return { match: (a) => (a.field(fieldpath) ?? '') !== value };
    case '~=':
      return { match: (a) => re!.test(a.field(fieldpath) ?? '') };
  }
}

class Parser {
  private readonly scanner: FilterScanner;

  constructor(private readonly input: string) {
    this.scanner = new FilterScanner(input);
  }

  parse(): Filter {
    const all = [this.selector()];
    for (;;) {
      const next = this.scanner.peek();
      if (next === -1) break;
      if (next !== 0x2c) this.fail(this.scanner.offset, 'unexpected input');
      this.scanner.scan();
      all.push(this.selector());
    }
    if (all.length === 1) return all[0]!;
    return { match: (adaptor) => all.every((f) => f.match(adaptor)) };
  }

  private selector(): Filter {
    const fieldpath = this.fieldpath();
    const next = this.scanner.peek();
    if (next === -1 || next === 0x2c) return selector(fieldpath);
    const op = this.operator();
    const tok = this.scanner.scan();
    let value: string;
    if (tok.token === Token.Value || tok.token === Token.Field) value = tok.text;
    else if (tok.token === Token.Quoted) value = this.unquote(tok, op === '~=');
    else this.fail(tok.pos, this.illegal(tok) ?? 'expected value or quoted');
    if (op !== '~=') return selector(fieldpath, op, value);
    return selector(fieldpath, op, value, this.compile(value, tok.pos));
  }

  private fieldpath(): string[] {
    const path = [this.field()];
    while (this.scanner.peek() === 0x2e) {
      this.scanner.scan();
      path.push(this.field());
    }
    return path;
  }

  private field(): string {
    const tok = this.scanner.scan();
    if (tok.token === Token.Field) return tok.text;
    if (tok.token === Token.Quoted) return this.unquote(tok, false);
    return this.fail(tok.pos, this.illegal(tok) ?? 'expected field or quoted');
  }

  private operator(): Operator {
    const tok = this.scanner.scan();
    if (tok.token === Token.Operator) {
      if (tok.text === '==' || tok.text === '!=' || tok.text === '~=') return tok.text;
      this.fail(tok.pos, `unsupported operator "${tok.text}"`);
    }
    return this.fail(tok.pos, this.illegal(tok) ?? 'expected an operator ("=="|"!="|"~=")');
  }

  private illegal(tok: Scanned): string | undefined {
    return tok.token === Token.Illegal ? this.scanner.error : undefined;
  }

  private unquote(tok: Scanned, allowRegexpQuotes: boolean): string {
    if (!allowRegexpQuotes && tok.text[0] !== '"') this.fail(tok.pos, 'invalid quote encountered');
    const value = unquote(tok.text);
    if (value === undefined) this.fail(tok.pos, 'unquoting failed: quote syntax error');
    return value;
  }

  private compile(source: string, pos: number): RegExp {
    // Go's inline flags at the start are the common case (`(?i)name`); JavaScript wants them as flags.
    const inline = /^\(\?([ims]+)\)/.exec(source);
    const flags = inline ? [...new Set(inline[1])].join('') : '';
    try {
      return new RegExp(inline ? source.slice(inline[0].length) : source, flags);
    } catch (err) {
      return this.fail(pos, `invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
    }
  }

  private fail(pos: number, message: string): never {
    const at = pos < this.input.length ? ` at position ${pos} (${JSON.stringify(this.input[pos])})` : ' at end of input';
    throw invalidArgument(`filter ${JSON.stringify(this.input)}: parse error${at}: ${message}`);
  }
}
