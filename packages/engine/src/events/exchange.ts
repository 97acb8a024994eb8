import { type MessageCodec, type MessageInit } from '@berth/api';
import { resourceExhausted } from '@berth/errdefs';
import { parseFilters, type Adaptor, type Filter } from '@berth/spec';
import type { EventEnvelope, EventExchange } from './types';

/** Envelopes a subscriber may have unread before it is dropped. */
const SUBSCRIBER_BACKLOG = 4096;

/** An in-process EventExchange (see types.ts). */
export function createEventExchange(): EventExchange {
  const subscribers = new Set<Subscriber>();
  const deliver = (envelope: EventEnvelope) => {
    for (const s of subscribers) s.offer(envelope);
  };
  return {
    publish<T>(namespace: string, topic: string, type: MessageCodec<T>, event: MessageInit<T>) {
      if (subscribers.size === 0) return;
      let fields: Record<string, unknown>;
      let value: Uint8Array;
      try {
        fields = type.create(event) as Record<string, unknown>;
        value = type.encode(event);
      } catch {
        // Only a payload of the wrong shape gets here; it must not fail the change it announces.
        return;
      }
      deliver({ timestamp: new Date(), namespace, topic, typeUrl: type.typeName, value, fields });
    },
    forward: deliver,
    subscribe(filters = [], signal) {
      const s = new Subscriber(parseFilters(...filters), (self) => subscribers.delete(self), signal);
      if (!signal?.aborted) subscribers.add(s);
      return s;
    },
  };
}

class Subscriber implements AsyncIterableIterator<EventEnvelope> {
  readonly #filter: Filter;
  readonly #unsubscribe: (self: Subscriber) => void;
  readonly #signal: AbortSignal | undefined;
  #queue: EventEnvelope[] = [];
  #waiting: ((r: IteratorResult<EventEnvelope>) => void) | undefined;
  #failWaiting: ((err: unknown) => void) | undefined;
  #error: unknown;
  #done = false;
  // An aborted subscription ends at once: what it had not read yet is dropped.
  readonly #onAbort = () => {
    this.#queue = [];
    this.#error = undefined;
    this.#end();
  };

  constructor(filter: Filter, unsubscribe: (self: Subscriber) => void, signal?: AbortSignal) {
    this.#filter = filter;
    this.#unsubscribe = unsubscribe;
    this.#signal = signal;
    if (signal?.aborted) this.#onAbort();
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  offer(envelope: EventEnvelope): void {
    if (this.#done || !this.#filter.match(adaptorOf(envelope))) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = this.#failWaiting = undefined;
      resolve({ value: envelope, done: false });
    } else if (this.#queue.length < SUBSCRIBER_BACKLOG) {
      this.#queue.push(envelope);
    } else {
      this.#error = resourceExhausted(`events subscriber fell ${SUBSCRIBER_BACKLOG} events behind; subscribe again`);
      this.#end();
    }
  }

  next(): Promise<IteratorResult<EventEnvelope>> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<EventEnvelope>> {
    this.#queue = [];
    this.#error = undefined;
    this.#end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#unsubscribe(this);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#waiting) {
      const [resolve, reject] = [this.#waiting, this.#failWaiting!];
      this.#waiting = this.#failWaiting = undefined;
      if (this.#error !== undefined) {
        const err = this.#error;
        this.#error = undefined;
        reject(err);
      } else resolve({ value: undefined, done: true });
    }
  }
}

/** containerd's envelope fieldpaths: `topic`, `namespace`, `event.<field>[.<field>…]` (snake or camel case). */
function adaptorOf(envelope: EventEnvelope): Adaptor {
  return {
    field(path) {
      switch (path[0]) {
        case 'topic':
          return path.length === 1 ? envelope.topic : undefined;
        case 'namespace':
          return path.length === 1 ? envelope.namespace : undefined;
        case 'event':
          return fieldOf(envelope.fields, path.slice(1));
        default:
          return undefined;
      }
    },
  };
}

function fieldOf(value: unknown, path: string[]): string | undefined {
  let v = value;
  for (const name of path) {
    if (v === null || typeof v !== 'object') return undefined;
    const obj = v as Record<string, unknown>;
    // Map keys (labels) are as given; message fields are lowerCamel here, snake_case in the proto.
    v = Object.hasOwn(obj, name) ? obj[name] : obj[camel(name)];
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
