import { events, imagesService } from '@berth/api';
import { ErrorKind, kindOf } from '@berth/errdefs';
import { describe, expect, it } from 'vitest';
import { rejection, thrown } from '../testing';
import { eventFields } from './event-types';
import { createEventExchange } from './exchange';
import type { EventEnvelope, EventExchange } from './types';

/** Publishes one of each kind of event the tests filter on. */
function publishSample(x: EventExchange): void {
  x.publish('ns1', '/containers/create', events.ContainerCreate, { id: 'c1', image: 'busybox', runtime: { name: 'io.containerd.runc.v2' } });
  x.publish('ns2', '/containers/delete', events.ContainerDelete, { id: 'c2' });
  x.publish('ns1', '/tasks/exit', events.TaskExit, { containerId: 'c1', id: 'c1', pid: 42, exitStatus: 3 });
  x.publish('ns2', '/images/create', imagesService.ImageCreate, { name: 'img', labels: { 'a.b': 'yes' } });
}

/** The next `n` envelopes of `sub`, as `namespace topic`. */
async function take(sub: AsyncIterator<EventEnvelope>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await sub.next();
    if (r.done) break;
    out.push(`${r.value.namespace} ${r.value.topic}`);
  }
  return out;
}

/** Everything `filters` lets through of `publishSample`, as `namespace topic` (an end marker, which every filter passes, closes the list). */
async function matching(filters: string[]): Promise<string[]> {
  const x = createEventExchange();
  const ac = new AbortController();
  const sub = x.subscribe([...filters, 'topic=="/end"'], ac.signal);
  publishSample(x);
  x.publish('end', '/end', events.ContentDelete, { digest: 'sha256:0' });
  const out: string[] = [];
  for await (const e of sub) {
    if (e.topic === '/end') break;
    out.push(`${e.namespace} ${e.topic}`);
  }
  ac.abort();
  return out;
}

describe('event exchange', () => {
  it('delivers every event to every subscriber, in order, with the encoded payload', async () => {
    const x = createEventExchange();
    const a = x.subscribe();
    const b = x.subscribe(['']);
    publishSample(x);
    const all = ['ns1 /containers/create', 'ns2 /containers/delete', 'ns1 /tasks/exit', 'ns2 /images/create'];
    expect(await take(a, 4)).toEqual(all);
    expect(await take(b, 4)).toEqual(all);

    const c = x.subscribe();
    const before = Date.now();
    x.publish('ns1', '/tasks/exit', events.TaskExit, { containerId: 'c9', exitStatus: 7 });
    const e = (await c.next()).value as EventEnvelope;
    expect(e.typeUrl).toBe('containerd.events.TaskExit');
    expect(events.TaskExit.decode(e.value)).toMatchObject({ containerId: 'c9', exitStatus: 7 });
    expect(e.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    await Promise.all([a.return!(), b.return!(), c.return!()]);
  });

  it('sees only events published after subscribing', async () => {
    const x = createEventExchange();
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: 'early' });
    const sub = x.subscribe();
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: 'late' });
    const e = (await sub.next()).value as EventEnvelope;
    expect(events.ContainerDelete.decode(e.value).id).toBe('late');
    await sub.return!();
  });

  it.each([
    { filters: ['topic=="/tasks/exit"'], expected: ['ns1 /tasks/exit'] },
    { filters: ['namespace==ns2'], expected: ['ns2 /containers/delete', 'ns2 /images/create'] },
    { filters: ['topic~=/containers/'], expected: ['ns1 /containers/create', 'ns2 /containers/delete'] },
    { filters: ['namespace==ns1,topic~=containers'], expected: ['ns1 /containers/create'] },
    { filters: ['event.id==c2'], expected: ['ns2 /containers/delete'] },
    { filters: ['event.container_id==c1'], expected: ['ns1 /tasks/exit'] },
    { filters: ['event.containerId==c1'], expected: ['ns1 /tasks/exit'] },
    { filters: ['event.exit_status==3'], expected: ['ns1 /tasks/exit'] },
    { filters: ['event.runtime.name==io.containerd.runc.v2'], expected: ['ns1 /containers/create'] },
    { filters: ['event.labels."a.b"==yes'], expected: ['ns2 /images/create'] },
    { filters: ['event.nosuchfield'], expected: [] },
    { filters: ['topic=="/tasks/exit"', 'event.id==c2'], expected: ['ns2 /containers/delete', 'ns1 /tasks/exit'] },
  ])('filters $filters', async ({ filters, expected }) => {
    expect(await matching(filters)).toEqual(expected);
  });

  it('refuses a bad filter with InvalidArgument and subscribes nothing', () => {
    const x = createEventExchange();
    for (const bad of ['topic==', 'event.(x', 'topic~=/[/']) {
      expect(kindOf(thrown(() => x.subscribe([bad]))), bad).toBe(ErrorKind.InvalidArgument);
    }
  });

  it('ends the stream when the signal aborts, also for a waiting reader and for one aborted before', async () => {
    const x = createEventExchange();
    const ac = new AbortController();
    const sub = x.subscribe([], ac.signal);
    const waiting = sub.next();
    ac.abort();
    expect(await waiting).toEqual({ value: undefined, done: true });
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: 'after' });
    expect(await sub.next()).toEqual({ value: undefined, done: true });

    const queued = x.subscribe([], ac.signal);
    expect(await queued.next()).toEqual({ value: undefined, done: true });

    // An abort also drops what was published but not read yet.
    const ac2 = new AbortController();
    const unread = x.subscribe([], ac2.signal);
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: 'unread' });
    ac2.abort();
    expect(await unread.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a for-await loop that breaks out (return) without affecting others', async () => {
    const x = createEventExchange();
    const a = x.subscribe();
    const b = x.subscribe();
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: '1' });
    for await (const e of a) {
      expect(e.topic).toBe('/containers/delete');
      break;
    }
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: '2' });
    expect(await a.next()).toEqual({ value: undefined, done: true });
    expect(await take(b, 2)).toEqual(['ns1 /containers/delete', 'ns1 /containers/delete']);
    await b.return!();
  });

  it('drops a subscriber that never reads with ResourceExhausted after its backlog; the others keep receiving', async () => {
    const x = createEventExchange();
    const stalled = x.subscribe();
    const reader = x.subscribe();
    const received: string[] = [];
    const reading = (async () => {
      for await (const e of reader) {
        const id = events.ContainerDelete.decode(e.value).id;
        received.push(id);
        if (id === 'last') return;
      }
    })();
    // More than any backlog a subscriber could be allowed (the exchange keeps 4096).
    const total = 10_000;
    for (let i = 0; i < total; i++) {
      x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: String(i) });
      if (i % 100 === 0) await new Promise((r) => setImmediate(r)); // let the reader run
    }
    x.publish('ns1', '/containers/delete', events.ContainerDelete, { id: 'last' });
    await reading;
    expect(received).toHaveLength(total + 1);
    expect(received.at(-1)).toBe('last');

    // The stalled one gets the backlog it was allowed, then the error, and nothing after.
    let kept = 0;
    const err = await rejection(
      (async () => {
        for (;;) {
          const r = await stalled.next();
          if (r.done) return;
          kept++;
        }
      })(),
    );
    expect(kindOf(err)).toBe(ErrorKind.ResourceExhausted);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(total);
    expect(await stalled.next()).toEqual({ value: undefined, done: true });
  });
});

describe('eventFields', () => {
  it('decodes the fields of a known event type and leaves unknown or malformed ones undefined', () => {
    const value = events.TaskExit.encode({ containerId: 'c1', pid: 7 });
    expect(eventFields('containerd.events.TaskExit', value)).toMatchObject({ containerId: 'c1', pid: 7 });
    expect(eventFields('containerd.services.images.v1.ImageDelete', imagesService.ImageDelete.encode({ name: 'x' }))).toEqual({ name: 'x' });
    expect(eventFields('example.Unknown', value)).toBeUndefined();
    expect(eventFields('containerd.events.TaskExit', Uint8Array.of(0xff, 0xff, 0xff))).toBeUndefined();
  });
});
