export { createEventExchange } from './exchange';
export { eventFields } from './event-types';
export { validateTopic } from './validate';
export type { EventEnvelope, EventExchange, EventPublisher } from './types';
