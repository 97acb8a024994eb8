import { events, imagesService, type MessageCodec } from '@berth/api';

/**
 * The event messages berthd knows by type URL (the bare proto name, as containerd's typeurl
 * registry has them): every `containerd.events.*` message and the images service's
 * `ImageCreate`/`ImageUpdate`/`ImageDelete`. Events of these types can be filtered on
 * `event.<field>` when they arrive already encoded (Events.Publish, Events.Forward), as
 * containerd's Envelope.Field decodes the Any it carries.
 */
const KNOWN: ReadonlyMap<string, MessageCodec<unknown>> = new Map(
  [...Object.values(events), imagesService.ImageCreate, imagesService.ImageUpdate, imagesService.ImageDelete]
    .filter(isCodec)
    .map((c) => [c.typeName, c]),
);

function isCodec(v: unknown): v is MessageCodec<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as MessageCodec<unknown>).typeName === 'string' && typeof (v as MessageCodec<unknown>).decode === 'function';
}

/**
 * The decoded fields of an event of type `typeUrl` (lowerCamel names), or undefined when the
 * type is unknown or the bytes do not decode (such an event is still delivered, only its
 * `event.<field>` filters see nothing).
 */
export function eventFields(typeUrl: string, value: Uint8Array): Readonly<Record<string, unknown>> | undefined {
  const codec = KNOWN.get(typeUrl);
  if (codec === undefined) return undefined;
  try {
    return codec.decode(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
