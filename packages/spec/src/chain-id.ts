import { invalidArgument } from '@berth/errdefs';
import { digestOf, parseDigest, type Digest } from './digest';

/**
 * The chain ID of every prefix of a layer stack, bottom first: `chainIds(d)[n]` identifies the
 * snapshot holding layers 0..n applied in order. chainID(L0) = diffID(L0);
 * chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). Every diffID is validated with
 * `parseDigest` (InvalidArgument naming its index). An empty list gives an empty list.
 */
export function chainIds(diffIds: readonly string[]): Digest[] {
  const out: Digest[] = [];
  diffIds.forEach((diffId, i) => {
    let valid: Digest;
    try {
      valid = parseDigest(diffId);
    } catch (err) {
      throw invalidArgument(`chain id: diffIds[${i}]: ${(err as Error).message}`, { cause: err });
    }
    const parent = out[i - 1];
    out.push(parent === undefined ? valid : digestOf(`${parent} ${valid}`));
  });
  return out;
}

/**
 * The chain ID of the whole layer stack (see `chainIds`). Throws InvalidArgument for an empty
 * list, which has no chain ID.
 */
export function chainId(diffIds: readonly string[]): Digest {
  const ids = chainIds(diffIds);
  const top = ids[ids.length - 1];
  if (top === undefined) throw invalidArgument('chain id: diffIds must not be empty');
  return top;
}
