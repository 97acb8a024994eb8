import type { EventEnvelope, EventExchange } from '../events';

/** One `/tasks/*` event as a test looks at it. */
export interface SeenTaskEvent {
  namespace: string;
  topic: string;
  fields: Record<string, unknown>;
}

/**
 * Test-only: records every `/tasks/*` event of an exchange from now on, in publication order.
 * `waitFor` resolves with the first recorded event matching (already seen or still to come),
 * and rejects after `timeoutMs` naming what it waited for and what it saw.
 */
export class TaskEventLog {
  readonly seen: SeenTaskEvent[] = [];
  private readonly abort = new AbortController();
  private readonly waiters = new Set<() => void>();

  constructor(exchange: EventExchange) {
    const it = exchange.subscribe(['topic~="^/tasks/"'], this.abort.signal);
    void (async () => {
      for await (const e of it as AsyncIterable<EventEnvelope>) {
        this.seen.push({ namespace: e.namespace, topic: e.topic, fields: { ...(e.fields ?? {}) } });
        for (const w of this.waiters) w();
      }
    })();
  }

  /** The recorded events of one container (`containerId`), in order. */
  of(containerId: string): SeenTaskEvent[] {
    return this.seen.filter((e) => e.fields.containerId === containerId);
  }

  waitFor(what: string, match: (e: SeenTaskEvent) => boolean, timeoutMs = 20_000): Promise<SeenTaskEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.seen.find(match);
        if (!found) return false;
        this.waiters.delete(onEvent);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const onEvent = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(onEvent);
        reject(new Error(`no ${what} event; saw ${JSON.stringify(this.seen.map((e) => [e.namespace, e.topic, e.fields.containerId, e.fields.id ?? e.fields.execId]))}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(onEvent);
    });
  }

  close(): void {
    this.abort.abort();
  }
}
