import { eventsService, type protobuf } from '@berth/api';
import { invalidArgument } from '@berth/errdefs';
import { validateIdentifier } from '@berth/spec';
import type { EngineContext } from '../context';
import { eventFields, validateTopic, type EventEnvelope } from '../events';
import { timestampOf } from '../grpc/convert';
import { serverStream, unary, type GrpcServiceImpl } from '../grpc/service';

/**
 * containerd.services.events.v1.Events over the engine's event exchange (`ctx.events`):
 *
 * - Publish: the event in the call's namespace (FailedPrecondition "namespace is required"
 *   without the header), stamped now. The topic is checked as containerd does (`/` then
 *   identifier components; InvalidArgument) and `event` must be set.
 * - Forward: the envelope as given, after the same checks plus a valid namespace and a set
 *   timestamp (containerd's `validateEnvelope`); the call's namespace header plays no part.
 * - Subscribe: every envelope published from now on that matches any of the filters
 *   (containerd filter syntax on `topic`, `namespace`, `event.<field>`), across all
 *   namespaces, until the client cancels. A bad filter is InvalidArgument before anything is
 *   streamed. A subscriber that stops reading is dropped by the exchange after its backlog and
 *   its stream ends with ResourceExhausted.
 *
 * Events sent through Publish and Forward carry an opaque Any; when its type is one berthd
 * knows (containerd.events.*, the image events), `event.<field>` filters see its fields.
 */
export function eventsImpl(ctx: EngineContext): GrpcServiceImpl<(typeof eventsService.Events)['methods']> {
  return {
    publish: unary(async (req, call) => {
      const namespace = call.namespace();
      validateTopic(req.topic);
      const event = requiredEvent(req.event);
      ctx.events.forward(envelopeOf(new Date(), namespace, req.topic, event));
      return {};
    }),

    forward: unary(async (req) => {
      const e = req.envelope;
      if (e === undefined) throw invalidArgument('envelope must be set');
      validateIdentifier(e.namespace);
      validateTopic(e.topic);
      if (e.timestamp === undefined || (e.timestamp.seconds === 0 && e.timestamp.nanos === 0)) {
        throw invalidArgument(`event ${e.topic}: timestamp required`);
      }
      ctx.events.forward(envelopeOf(dateOf(e.timestamp), e.namespace, e.topic, requiredEvent(e.event)));
      return {};
    }),

    subscribe: serverStream(async (req, call, send) => {
      const subscription = ctx.events.subscribe(req.filters, call.signal);
      const cancelled = new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }));
      for await (const envelope of subscription) {
        // A client that cancels while its buffer is full never drains: stop waiting then.
        await Promise.race([send(toWire(envelope)), cancelled]);
        if (call.signal.aborted) return;
      }
    }),
  };
}

function requiredEvent(event: protobuf.Any | undefined): protobuf.Any {
  if (event === undefined) throw invalidArgument('event must be set');
  return event;
}

function envelopeOf(timestamp: Date, namespace: string, topic: string, event: protobuf.Any): EventEnvelope {
  // A copy: decoded bytes are views into the request buffer, which grpc-js may reuse.
  const value = Uint8Array.from(event.value);
  return { timestamp, namespace, topic, typeUrl: event.typeUrl, value, fields: eventFields(event.typeUrl, value) };
}

/** An envelope as containerd's wire Envelope. */
export function toWire(e: EventEnvelope): eventsService.Envelope {
  return { timestamp: timestampOf(e.timestamp), namespace: e.namespace, topic: e.topic, event: { typeUrl: e.typeUrl, value: e.value } };
}

function dateOf(t: protobuf.Timestamp): Date {
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000));
}
