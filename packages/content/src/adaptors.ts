import type { Adaptor } from '@berth/spec';
import type { Info, Status } from './types';

/**
 * Filter adaptor of a blob's Info: fieldpaths `digest`, `size`, `labels.<key>` (a dotted or
 * quoted key, `labels."a.b"`) and `labels` (present when there are any).
 */
export function infoAdaptor(info: Info): Adaptor {
  return {
    field(path) {
      switch (path[0]) {
        case 'digest':
          return path.length === 1 ? info.digest : undefined;
        case 'size':
          return path.length === 1 ? String(info.size) : undefined;
        case 'labels':
          return labelField(info.labels, path);
        default:
          return undefined;
      }
    },
  };
}

/** Filter adaptor of an ingest's Status: fieldpaths `ref`, `expected`, `total`, `offset`. */
export function statusAdaptor(status: Status): Adaptor {
  return {
    field(path) {
      if (path.length !== 1) return undefined;
      switch (path[0]) {
        case 'ref':
          return status.ref;
        case 'expected':
          return status.expected;
        case 'total':
          return String(status.total);
        case 'offset':
          return String(status.offset);
        default:
          return undefined;
      }
    },
  };
}

function labelField(labels: Record<string, string>, path: string[]): string | undefined {
  if (path.length === 1) return Object.keys(labels).length > 0 ? '' : undefined;
  const key = path.slice(1).join('.');
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}
