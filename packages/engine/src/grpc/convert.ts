import type { protobuf } from '@berth/api';

/** A Date as a protobuf Timestamp (milliseconds precision). */
export function timestampOf(date: Date): protobuf.Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}
