import { describe, expect, it } from 'vitest';
import { Gate } from './gate';

/** A promise and its resolver, to hold a section open until the test lets it go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending promise callback run (the gate hands over in microtasks). */
const settle = () => new Promise((r) => setImmediate(r));

describe('Gate', () => {
  it('runs shared sections together and an exclusive one alone, after them', async () => {
    const gate = new Gate();
    const log: string[] = [];
    const a = deferred();
    const b = deferred();
    const s1 = gate.shared(async () => {
      log.push('s1 in');
      await a.promise;
      log.push('s1 out');
    });
    const s2 = gate.shared(async () => {
      log.push('s2 in');
      await b.promise;
      log.push('s2 out');
    });
    const x = gate.exclusive(() => void log.push('x'));
    await settle();
    expect(log).toEqual(['s1 in', 's2 in']);
    a.resolve();
    await settle();
    expect(log).toEqual(['s1 in', 's2 in', 's1 out']); // still one shared section open
    b.resolve();
    await Promise.all([s1, s2, x]);
    expect(log).toEqual(['s1 in', 's2 in', 's1 out', 's2 out', 'x']);
  });

  it('queues shared sections behind a waiting exclusive one, so the collector is not starved', async () => {
    const gate = new Gate();
    const log: string[] = [];
    const hold = deferred();
    const first = gate.shared(() => hold.promise.then(() => void log.push('first')));
    const x = gate.exclusive(() => void log.push('x'));
    const late = gate.shared(() => void log.push('late'));
    await settle();
    expect(log).toEqual([]);
    hold.resolve();
    await Promise.all([first, x, late]);
    expect(log).toEqual(['first', 'x', 'late']);
  });

  it('passes results and errors through and releases the gate either way', async () => {
    const gate = new Gate();
    await expect(gate.exclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.shared(() => { throw new Error('bang'); })).rejects.toThrow('bang');
    expect(await gate.exclusive(() => 7)).toBe(7);
    expect(await gate.shared(async () => 'ok')).toBe('ok');
  });
});
