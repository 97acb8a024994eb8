import { describe, expect, it } from 'vitest';
import { silentLogger } from '../daemon/log';
import type { GcStats } from './collector';
import { createGarbageCollector } from './scheduler';

const STATS: GcStats = { contentRecords: 0, blobs: 0, snapshotRecords: 0, snapshots: 0, leases: 0, errors: 0 };

/** A stand-in collection that the test releases by hand, counting runs and overlaps. */
function controlledRun() {
  const state = { runs: 0, active: 0, maxActive: 0, releases: [] as (() => void)[], started: [] as (() => void)[] };
  const run = async (): Promise<GcStats> => {
    state.runs++;
    state.active++;
    state.maxActive = Math.max(state.maxActive, state.active);
    state.started.splice(0).forEach((f) => f());
    await new Promise<void>((r) => state.releases.push(r));
    state.active--;
    return { ...STATS, blobs: state.runs };
  };
  const nextStart = () => new Promise<void>((r) => state.started.push(r));
  const release = () => state.releases.splice(0).forEach((f) => f());
  return { state, run, nextStart, release };
}

describe('garbage collection scheduler', () => {
  it('collects after markDirty, debounced into one collection', async () => {
    const c = controlledRun();
    const gc = createGarbageCollector(c.run, { log: silentLogger, intervalMs: 0, startupDelayMs: undefined });
    const started = c.nextStart();
    gc.markDirty();
    gc.markDirty();
    gc.markDirty();
    await started;
    c.release();
    await gc.close();
    expect(c.state.runs).toBe(1);
  });

  it('collect() waits for the running collection and runs one more, shared by every caller meanwhile; never two at once', async () => {
    const c = controlledRun();
    const gc = createGarbageCollector(c.run, { log: silentLogger, intervalMs: 0, startupDelayMs: undefined });
    const firstStarted = c.nextStart();
    const first = gc.collect();
    await firstStarted;
    // Deletions made now may postdate the running collection's roots: these wait for the next one.
    const second = gc.collect();
    const third = gc.collect();
    expect(third).toBe(second);
    const secondStarted = c.nextStart();
    c.release();
    expect((await first)!.blobs).toBe(1);
    await secondStarted;
    c.release();
    expect((await second)!.blobs).toBe(2);
    expect(c.state.maxActive).toBe(1);
    await gc.close();
  });

  it('runs at startup and periodically unless told not to; manual mode only on collect()', async () => {
    const c = controlledRun();
    const started = c.nextStart();
    const auto = createGarbageCollector(c.run, { log: silentLogger, intervalMs: 0, startupDelayMs: 0 });
    await started;
    c.release();
    await auto.close();
    expect(c.state.runs).toBe(1);

    const m = controlledRun();
    const manual = createGarbageCollector(m.run, { log: silentLogger, manual: true, startupDelayMs: 0, intervalMs: 1 });
    manual.markDirty();
    const ran = m.nextStart();
    const done = manual.collect();
    await ran;
    m.release();
    await done;
    await manual.close();
    expect(m.state.runs).toBe(1); // the explicit one only
  });

  it('after close, collect() runs nothing and close waits for the running collection', async () => {
    const c = controlledRun();
    const gc = createGarbageCollector(c.run, { log: silentLogger, intervalMs: 0, startupDelayMs: undefined });
    const started = c.nextStart();
    const running = gc.collect();
    await started;
    let closed = false;
    const closing = gc.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    c.release();
    await closing;
    await running;
    expect(await gc.collect()).toBeUndefined();
    gc.markDirty();
    expect(c.state.runs).toBe(1);
  });

  it('rejects collect() with the collection error and keeps going', async () => {
    let fail = true;
    const gc = createGarbageCollector(
      async () => {
        if (fail) throw new Error('metadata gone');
        return STATS;
      },
      { log: silentLogger, intervalMs: 0, startupDelayMs: undefined },
    );
    await expect(gc.collect()).rejects.toThrow('metadata gone');
    fail = false;
    expect(await gc.collect()).toEqual(STATS);
    await gc.close();
  });
});
