import type { MessageCodec, MessageInit } from '@berth/api';

/**
 * One event as the exchange carries it: containerd's Envelope (`timestamp`, `namespace`,
 * `topic`, `event` as an Any whose type URL is the bare proto name, e.g.
 * `containerd.events.TaskExit`), plus the decoded fields that `event.<field>` filters see.
 */
export interface EventEnvelope {
  readonly timestamp: Date;
  readonly namespace: string;
  /** containerd's topic: `/tasks/exit`, `/images/create`, … */
  readonly topic: string;
  readonly typeUrl: string;
  readonly value: Uint8Array;
  /** The event's fields (lowerCamel names), when its type is known; else undefined. */
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/** What the services hold to announce changes. */
export interface EventPublisher {
  /**
   * Stamps the event with the current time and delivers it to every matching subscriber.
   * Never throws and never waits: a subscriber that falls too far behind is dropped (its
   * stream ends with ResourceExhausted), the publisher is never slowed.
   */
  publish<T>(namespace: string, topic: string, type: MessageCodec<T>, event: MessageInit<T>): void;
}

/** The engine's event bus: publishers on one side, Subscribe streams on the other. */
export interface EventExchange extends EventPublisher {
  /** Delivers an envelope stamped elsewhere (Events.Forward, a shim's events) as it is. */
  forward(envelope: EventEnvelope): void;
  /**
   * Every envelope published from now on that matches any of `filters` (containerd's filter
   * syntax on `topic`, `namespace` and `event.<field>`; none or `""` match all), across all
   * namespaces. Ends when `signal` aborts or the consumer returns. InvalidArgument for a bad
   * filter, thrown here (before anything is subscribed).
   */
  subscribe(filters?: readonly string[], signal?: AbortSignal): AsyncIterableIterator<EventEnvelope>;
}
