export { createEventExchange } from './exchange';
export type { EventEnvelope, EventExchange, EventPublisher } from './types';
