import { type ErrorKind, kindOf } from '@berth/errdefs';

/** The error `p` rejects with; fails the test if `p` resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The errdefs kind of the error `p` rejects with; fails the test if `p` resolves. */
export async function rejectionKind(p: Promise<unknown>): Promise<ErrorKind> {
  return kindOf(await rejection(p));
}

/** The error `fn` throws; fails the test if it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
