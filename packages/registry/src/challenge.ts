/** One challenge of a `WWW-Authenticate` header: its scheme (lower-case) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` values (RFC 7235): several challenges may share a header, separated
 * by commas, each `scheme` followed by `name=value` or `name="quoted \"value\""` parameters.
 * Parameter names are lower-cased. Malformed parts are skipped, never thrown.
 */
export function parseChallenges(headers: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const header of Array.isArray(headers) ? headers : headers ? [headers] : []) {
    let i = 0;
    let current: Challenge | undefined;
    const s = header;
    const skip = (re: RegExp): void => {
      while (i < s.length && re.test(s[i]!)) i++;
    };
    while (i < s.length) {
      skip(/[\s,]/);
      const start = i;
      while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
      const token = s.slice(start, i);
      if (token === '') {
        i++;
        continue;
      }
      skip(/\s/);
      if (s[i] === '=' && current) {
        i++;
        skip(/\s/);
        let value = '';
        if (s[i] === '"') {
          for (i++; i < s.length && s[i] !== '"'; i++) value += s[i] === '\\' ? (s[++i] ?? '') : s[i];
          i++;
        } else {
          const v = i;
          while (i < s.length && s[i] !== ',') i++;
          value = s.slice(v, i).trim();
        }
        current.params[token.toLowerCase()] = value;
      } else {
        // A token68 after a scheme (`Negotiate abc==`) is not used by registries; a bare token starts a challenge.
        current = { scheme: token.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
