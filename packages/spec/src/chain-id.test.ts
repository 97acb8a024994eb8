import { createHash } from 'node:crypto';
import { isInvalidArgument } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { chainId, chainIds } from './chain-id';

// Fixed diffIDs: the sha256 of the strings "layer0", "layer1", "layer2".
const diffIds = ['layer0', 'layer1', 'layer2'].map((s) => `sha256:${createHash('sha256').update(s).digest('hex')}`);
// The formula, computed independently: chain(n) = sha256(chain(n-1) + " " + diff(n)).
const sha = (s: string) => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;
const c0 = diffIds[0]!;
const c1 = sha(`${c0} ${diffIds[1]}`);
const c2 = sha(`${c1} ${diffIds[2]}`);

describe('chain IDs', () => {
  it('of one layer is its diffID', () => {
    expect(chainId([c0])).toBe(c0);
  });

  it('follow the formula, layer by layer', () => {
    expect(chainIds(diffIds)).toEqual([c0, c1, c2]);
    expect(chainId(diffIds)).toBe(c2);
    expect(chainId(diffIds.slice(0, 2))).toBe(c1);
  });

  it('depend on the order of layers', () => {
    expect(chainId([diffIds[1]!, diffIds[0]!])).not.toBe(c1);
  });

  it('of no layers: chainIds is empty, chainId is InvalidArgument', () => {
    expect(chainIds([])).toEqual([]);
    expect(() => chainId([])).toThrow(expect.toSatisfy(isInvalidArgument));
  });

  it('refuse a bad diffID as InvalidArgument', () => {
    expect(() => chainIds([c0, 'sha256:zz'])).toThrow(expect.toSatisfy(isInvalidArgument));
  });
});
