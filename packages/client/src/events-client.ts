import { events, eventsService, imagesService, type MessageCodec } from '@berth/api';
import type { CallOptions, Connection } from './connection';
import { dateOf } from './wire';

/** One event from berthd's exchange. */
export interface EventEnvelope {
  timestamp: Date;
  namespace: string;
  /** e.g. `/tasks/exit`, `/containers/create`, `/images/delete`. */
  topic: string;
  /** The payload's type, e.g. `containerd.events.TaskExit`. */
  typeUrl: string;
  /** The payload decoded (when its type is one of containerd's event types), else undefined. */
  event: Record<string, unknown> | undefined;
}

const PAYLOADS = new Map<string, MessageCodec<object>>();
for (const [name, codec] of Object.entries(events)) {
  if (codec && typeof (codec as MessageCodec<object>).decode === 'function') PAYLOADS.set(`containerd.events.${name}`, codec as MessageCodec<object>);
}
for (const name of ['ImageCreate', 'ImageUpdate', 'ImageDelete'] as const) PAYLOADS.set(`containerd.services.images.v1.${name}`, imagesService[name] as MessageCodec<object>);

/**
 * berthd's event stream (`containerd.services.events.v1.Events`). The stream covers every
 * namespace unless a filter (`namespace==x`, `topic=="/tasks/exit"`, ORed across strings)
 * narrows it.
 */
export class EventsClient {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  /** The events from now on, endlessly; break out of the loop or abort `signal` to stop. */
  async *subscribe(filters: string[] = [], opts?: CallOptions): AsyncGenerator<EventEnvelope, void, undefined> {
    for await (const env of this.#conn.serverStream(eventsService.Events.methods.subscribe, { filters }, opts)) {
      const typeUrl = env.event?.typeUrl ?? '';
      const codec = PAYLOADS.get(typeUrl);
      let event: Record<string, unknown> | undefined;
      if (codec && env.event) {
        try {
          event = codec.decode(env.event.value) as Record<string, unknown>;
        } catch {
          event = undefined;
        }
      }
      yield { timestamp: dateOf(env.timestamp), namespace: env.namespace, topic: env.topic, typeUrl, event };
    }
  }
}
