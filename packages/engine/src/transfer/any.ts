import type { MessageCodec, protobuf } from '@berth/api';

/**
 * The message name of an Any's type URL. containerd's typeurl uses bare proto names
 * (`containerd.types.transfer.OCIRegistry`); a `type.googleapis.com/` prefix is accepted too.
 */
export function anyTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** `value` as an Any of the proto message `name`, with containerd's bare type URL. */
export function toAny<T>(name: string, codec: MessageCodec<T>, value: Parameters<MessageCodec<T>['encode']>[0]): protobuf.Any {
  return { typeUrl: name, value: codec.encode(value) };
}
