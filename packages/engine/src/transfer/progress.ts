import { transferTypes, type MessageInit } from '@berth/api';
import { isConfigMediaType, isIndexMediaType, isManifestMediaType, type Descriptor } from '@berth/spec';
import { descriptorToWire } from '../services/diff';
import { toAny } from './any';
import type { ClientStream } from './streams';

/** One progress event of a transfer (containerd.types.transfer.Progress, with an OCI descriptor). */
export interface ProgressEvent {
  event: string;
  name?: string;
  parents?: string[];
  progress?: number;
  total?: number;
  desc?: Descriptor;
}

export type ProgressFn = (p: ProgressEvent) => void;

/** containerd's `remotes.MakeRefKey` prefixes: `index-`, `manifest-`, `config-`, `layer-`, else `unknown-`, then the digest. */
export function refKey(desc: Descriptor): string {
  const kind = isIndexMediaType(desc.mediaType)
    ? 'index'
    : isManifestMediaType(desc.mediaType)
      ? 'manifest'
      : isConfigMediaType(desc.mediaType)
        ? 'config'
        : /layer|rootfs/.test(desc.mediaType)
          ? 'layer'
          : 'unknown';
  return `${kind}-${desc.digest}`;
}

/**
 * Sends progress events as `containerd.types.transfer.Progress` Anys on `stream`, in order. A
 * send never throws into the transfer: a client that went away only loses its progress. Events
 * queue in memory while grpc-js is not ready for more; `flush()` waits for the queue to drain.
 */
export function streamProgress(stream: ClientStream): { progress: ProgressFn; flush(): Promise<void> } {
  let tail: Promise<void> = Promise.resolve();
  let broken = false;
  return {
    progress(p) {
      if (broken) return;
      const message: MessageInit<transferTypes.Progress> = {
        event: p.event,
        name: p.name ?? '',
        parents: p.parents ?? [],
        progress: p.progress ?? 0,
        total: p.total ?? 0,
        ...(p.desc ? { desc: descriptorToWire(p.desc) } : {}),
      };
      const any = toAny('containerd.types.transfer.Progress', transferTypes.Progress, message);
      tail = tail.then(() => stream.send(any)).catch(() => {
        broken = true;
      });
    },
    flush: () => tail,
  };
}
