import { isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { isIdentifier, validateIdentifier } from './identifiers';

describe('validateIdentifier', () => {
  it.each(['default', 'k8s.io', 'a', 'A1', 'foo_bar-baz.1', '0', 'x'.repeat(76), 'moby.v1-x'])('accepts %j', (id) => {
    expect(() => validateIdentifier(id)).not.toThrow();
    expect(isIdentifier(id)).toBe(true);
  });

  it.each(['', 'x'.repeat(77), '-a', 'a-', 'a..b', 'a._b', '.a', 'a/b', 'a b', 'ü', 'a\n', '..'])('refuses %j as InvalidArgument', (id) => {
    expect(() => validateIdentifier(id)).toThrow(expect.toSatisfy(isInvalidArgument));
    expect(isIdentifier(id)).toBe(false);
  });
});
