import type { protobuf } from '@berth/api';

/** containerd's Go client sends an unset time as year 1 (`seconds = -62135596800`). */
const GO_ZERO_SECONDS = -62135596800;

/**
 * A protobuf Timestamp as a Date. An absent timestamp, or Go's zero time, gives the Unix epoch
 * (the interfaces' times are not optional; callers that care test `getTime() === 0`).
 */
export function dateOf(ts: protobuf.Timestamp | undefined): Date {
  if (!ts || ts.seconds === GO_ZERO_SECONDS) return new Date(0);
  return new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1_000_000));
}
