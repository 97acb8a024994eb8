import type { Info, Status } from '@berth/content';
import type { contentService, MessageInit } from '@berth/api';
import { timestampOf } from '../grpc/convert';

// containerd's Go client decodes an absent timestamp as the zero time (year 1), so every time
// berthd knows is sent.

/** The wire `Info` of a blob. */
export function infoToWire(info: Info): MessageInit<contentService.Info> {
  return {
    digest: info.digest,
    size: info.size,
    createdAt: timestampOf(info.createdAt),
    updatedAt: timestampOf(info.updatedAt),
    labels: info.labels,
  };
}

/** The wire `Status` of an ingest (`expected` is `''` when none was recorded). */
export function statusToWire(status: Status): MessageInit<contentService.Status> {
  return {
    startedAt: timestampOf(status.startedAt),
    updatedAt: timestampOf(status.updatedAt),
    ref: status.ref,
    offset: status.offset,
    total: status.total,
    expected: status.expected ?? '',
  };
}
