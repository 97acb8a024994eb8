/**
 * The lexer for containerd's filter syntax (see filters.ts). Internal: only the parser uses it.
 * Positions are UTF-16 indexes into the input.
 */

/** Token kinds. `Other` is any other single character; its text is the character. */
export const Token = {
  EOF: 0,
  Quoted: 1,
  Value: 2,
  Field: 3,
  Separator: 4,
  Operator: 5,
  Illegal: 6,
  Other: 7,
} as const;

export type Token = (typeof Token)[keyof typeof Token];

/** One scanned token: its kind, where it starts, and its raw text (quotes included). */
export interface Scanned {
  token: Token;
  pos: number;
  text: string;
}

const EOF = -1;
const NUL = -2;
const simpleEscapeChars = new Set([...'abfnrtv\\'].map((ch) => ch.charCodeAt(0)));
const space = /^\p{White_Space}$/u;
const graphic = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const isFieldChar = (c: number): boolean =>
  c === 0x5f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
// `"` quotes anything; `/` and `|` quote a regexp, so it may contain `,` and spaces.
const isQuoteChar = (c: number): boolean => c === 0x22 || c === 0x2f || c === 0x7c;
const isSeparatorChar = (c: number): boolean => c === 0x2c || c === 0x2e;
const isOperatorChar = (c: number): boolean => c === 0x3d || c === 0x21 || c === 0x7e;
const isSpace = (c: number): boolean => c >= 0 && space.test(String.fromCodePoint(c));
const isValueChar = (c: number): boolean =>
  c >= 0 && c !== 0x2c && !isSpace(c) && graphic.test(String.fromCodePoint(c));
const hexValue = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : 16;

/**
 * Splits a filter string into tokens. After an operator the next bare word is a value
 * (anything up to a comma or white space); otherwise bare words are fields (`[A-Za-z0-9_]+`).
 * The first lexical error is kept in `error`; the token that hit it is `Illegal`.
 */
export class FilterScanner {
  /** Start of the character last read. */
  private pos = 0;
  /** End of the character last read. */
  private end = 0;
  private afterOperator = false;
  error = '';

  constructor(readonly input: string) {}

  /** The position of the next unread character. */
  get offset(): number {
    return this.end;
  }

  private next(): number {
    if (this.end >= this.input.length) {
      this.pos = this.input.length;
      return EOF;
    }
    this.pos = this.end;
    const c = this.input.codePointAt(this.end)!;
    this.end += c > 0xffff ? 2 : 1;
    if (c === 0) {
      this.fail('unexpected null');
      return NUL;
    }
    return c;
  }

  /** The next character without consuming it (-1 at the end). */
  peek(): number {
    const { pos, end } = this;
    const c = this.next();
    this.pos = pos;
    this.end = end;
    return c;
  }

  scan(): Scanned {
    let c = this.next();
    while (isSpace(c)) c = this.next();
    const pos = this.pos;
    const take = (token: Token): Scanned => ({ token, pos, text: this.input.slice(pos, this.end) });
    if (c === EOF) return { token: Token.EOF, pos, text: '' };
    if (c === NUL) return { token: Token.Illegal, pos, text: '' };
    if (isQuoteChar(c)) return take(this.scanQuoted(c) ? Token.Quoted : Token.Illegal);
    if (isSeparatorChar(c)) {
      this.afterOperator = false;
      return take(Token.Separator);
    }
    if (isOperatorChar(c)) {
      while (isOperatorChar(this.peek())) this.next();
      this.afterOperator = true;
      return take(Token.Operator);
    }
    if (this.afterOperator && isValueChar(c)) {
      while (isValueChar(this.peek())) this.next();
      this.afterOperator = false;
      return take(Token.Value);
    }
    if (isFieldChar(c)) {
      while (isFieldChar(this.peek())) this.next();
      return take(Token.Field);
    }
    return take(Token.Other);
  }

  private fail(message: string): void {
    if (this.error === '') this.error = message;
  }

  private scanQuoted(quote: number): boolean {
    let legal = true;
    let c = this.next();
    while (c !== quote) {
      if (c === 0x0a || c < 0) {
        this.fail('quoted literal not terminated');
        return false;
      }
      if (c === 0x5c) {
        const [after, ok] = this.scanEscape(quote);
        c = after;
        legal &&= ok;
      } else {
        c = this.next();
      }
    }
    return legal;
  }

  /** Reads an escape after its backslash; returns the character after it and whether it was legal. */
  private scanEscape(quote: number): [number, boolean] {
    const c = this.next();
    if (c === quote || simpleEscapeChars.has(c)) return [this.next(), true];
    if (c >= 0x30 && c <= 0x37) return this.scanDigits(c, 8, 3);
    if (c === 0x78) return this.scanDigits(this.next(), 16, 2);
    if (c === 0x75) return this.scanDigits(this.next(), 16, 4);
    if (c === 0x55) return this.scanDigits(this.next(), 16, 8);
    this.fail('illegal escape sequence');
    return [c, false];
  }

  private scanDigits(first: number, base: number, count: number): [number, boolean] {
    let c = first;
    let n = count;
    while (n > 0 && c >= 0 && hexValue(c) < base) {
      c = this.next();
      n--;
    }
    if (n > 0) {
      this.fail('illegal numeric escape sequence');
      return [c, false];
    }
    return [c, true];
  }
}

const simpleEscapes: Readonly<Record<string, number>> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c };
const encoder = new TextEncoder();

/**
 * Unquotes a quoted token (`"…"`, `/…/` or `|…|`) with Go string escapes; only the token's own
 * quote character may be escaped. Returns undefined on a syntax error. `\x` and octal escapes
 * are bytes, so the result is decoded as UTF-8 (invalid sequences become U+FFFD).
 */
export function unquote(text: string): string | undefined {
  const quote = text[0];
  if (text.length < 2 || quote !== text[text.length - 1] || !'"/|'.includes(quote ?? '')) return undefined;
  const body = text.slice(1, -1);
  if (body.includes('\n')) return undefined;
  if (!body.includes('\\') && !body.includes(quote!)) return body;

  const bytes: number[] = [];
  const pushCodePoint = (cp: number) => {
    const safe = cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
    bytes.push(...encoder.encode(String.fromCodePoint(safe)));
  };
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === quote) return undefined;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      pushCodePoint(cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    i += 2;
    if (e in simpleEscapes) bytes.push(simpleEscapes[e]!);
    else if (e === quote) bytes.push(e.charCodeAt(0));
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const digits = body.slice(i, i + n);
      if (digits.length < n || !/^[0-9a-fA-F]+$/.test(digits)) return undefined;
      const v = Number.parseInt(digits, 16);
      i += n;
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff) return undefined;
      else pushCodePoint(v);
    } else if (e >= '0' && e <= '7') {
      const digits = e + body.slice(i, i + 2);
      if (!/^[0-7]{3}$/.test(digits)) return undefined;
      const v = Number.parseInt(digits, 8);
      if (v > 255) return undefined;
      i += 2;
      bytes.push(v);
    } else return undefined;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
