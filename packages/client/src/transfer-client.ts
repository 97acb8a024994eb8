import { streamingService, transferService, transferTypes, type MessageCodec, type MessageInit, type protobuf } from '@berth/api';
import { defaultPlatform, type Platform } from '@berth/spec';
import { toBerthError, type CallOptions, type Connection } from './connection';
import { randomHex } from './lazy-node';

/** What to pull, for `pullRequest`. */
export interface PullRequestOptions {
  /** The image record's name (default: the reference). */
  name?: string;
  labels?: Record<string, string>;
  /** Manifests to fetch from an index; `'all'` for every one. Default: the host's platform (as ctr). */
  platforms?: Platform[] | 'all';
  /** Unpack into this snapshotter (default `overlayfs`) for these platforms; `false` not to unpack. Default: the host's platform. */
  unpack?: false | { snapshotter?: string; platforms?: Platform[] };
  /** Talk plain HTTP to the registry (`default_scheme: http`). */
  plainHttp?: boolean;
  headers?: Record<string, string>;
  /** A directory of `<host>/hosts.toml` registry settings on berthd's machine (`host_dir`, ctr's `--hosts-dir`). */
  hostDir?: string;
}

/** A Transfer request pulling `reference` into the image store (containerd 2's `ctr image pull` shape). */
export function pullRequest(reference: string, opts: PullRequestOptions = {}): MessageInit<transferService.TransferRequest> {
  const platforms = opts.platforms === 'all' ? [] : (opts.platforms ?? [defaultPlatform()]);
  const unpack =
    opts.unpack === false
      ? []
      : (opts.unpack?.platforms ?? [defaultPlatform()]).map((platform) => ({ platform, snapshotter: opts.unpack ? (opts.unpack.snapshotter ?? '') : '' }));
  return {
    source: toAny('containerd.types.transfer.OCIRegistry', transferTypes.OCIRegistry, registry(reference, opts)),
    destination: toAny('containerd.types.transfer.ImageStore', transferTypes.ImageStore, {
      name: opts.name ?? reference,
      labels: opts.labels ?? {},
      platforms: platforms.map(wirePlatform),
      unpacks: unpack.map((u) => ({ platform: wirePlatform(u.platform), snapshotter: u.snapshotter })),
    }),
  };
}

/** A Transfer request pushing the image record `name` to `reference`. */
export function pushRequest(name: string, reference: string, opts: Pick<PullRequestOptions, 'plainHttp' | 'headers' | 'hostDir'> = {}): MessageInit<transferService.TransferRequest> {
  return {
    source: toAny('containerd.types.transfer.ImageStore', transferTypes.ImageStore, { name }),
    destination: toAny('containerd.types.transfer.OCIRegistry', transferTypes.OCIRegistry, registry(reference, opts)),
  };
}

/** Options of `TransferClient.transfer`. */
export interface TransferOptions extends CallOptions {
  /** Receives each progress event; opens a progress stream when given. */
  onProgress?: (p: transferTypes.Progress) => void;
}

/**
 * berthd's Transfer service (containerd 2's `containerd.services.transfer.v1`): server-side pull
 * and push. With `onProgress`, a Streaming stream is opened first (StreamInit, then the server's
 * ack) and named as the request's progress stream; `transfer` resolves once the transfer ended
 * and every progress event was delivered, and rejects with the transfer's BerthError (NotFound
 * for an unknown tag, DataLoss for bytes that do not match their digest, Unauthenticated, …).
 * An aborted signal cancels the transfer.
 */
export class TransferClient {
  constructor(private readonly conn: Connection) {}

  async transfer(request: MessageInit<transferService.TransferRequest>, opts: TransferOptions = {}): Promise<void> {
    const { onProgress, ...callOpts } = opts;
    const options: MessageInit<transferService.TransferOptions> = {};
    let reading: Promise<void> = Promise.resolve();
    let stream: ReturnType<Connection['duplex']> | undefined;
    if (onProgress) {
      const id = `progress-${randomHex(8)}`;
      const s = this.conn.duplex(streamingService.Streaming.methods.stream, callOpts);
      stream = s;
      const acked = new Promise<void>((resolve, reject) => {
        s.once('data', () => resolve());
        s.once('error', (err: Error) => reject(toBerthError(err, callOpts.signal)));
      });
      s.write(toAny('containerd.services.streaming.v1.StreamInit', streamingService.StreamInit, { id }));
      await acked; // the stream is registered on the server
      options.progressStream = id;
      reading = new Promise<void>((resolve) => {
        s.on('data', (any: protobuf.Any) => {
          if (anyTypeName(any.typeUrl) === 'containerd.types.transfer.Progress') onProgress(transferTypes.Progress.decode(any.value));
        });
        s.on('error', () => resolve());
        s.on('end', () => resolve());
      });
    }
    try {
      await this.conn.unary(transferService.Transfer.methods.transfer, { ...request, options: { ...request.options, ...options } }, callOpts);
    } catch (err) {
      stream?.cancel();
      throw err;
    }
    stream?.end();
    await reading;
  }

  /** Pulls `reference` (see `pullRequest`). */
  pull(reference: string, opts: PullRequestOptions & TransferOptions = {}): Promise<void> {
    return this.transfer(pullRequest(reference, opts), opts);
  }

  /** Pushes the image record `name` to `reference`. */
  push(name: string, reference: string, opts: Pick<PullRequestOptions, 'plainHttp' | 'headers'> & TransferOptions = {}): Promise<void> {
    return this.transfer(pushRequest(name, reference, opts), opts);
  }
}

/** The message name of an Any's type URL (bare, as containerd's typeurl; a prefix is accepted). */
function anyTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

function toAny<T>(name: string, codec: MessageCodec<T>, value: MessageInit<T>): protobuf.Any {
  return { typeUrl: name, value: codec.encode(value) };
}

function registry(reference: string, opts: Pick<PullRequestOptions, 'plainHttp' | 'headers' | 'hostDir'>): MessageInit<transferTypes.OCIRegistry> {
  return { reference, resolver: { defaultScheme: opts.plainHttp ? 'http' : '', headers: opts.headers ?? {}, hostDir: opts.hostDir ?? '' } };
}

function wirePlatform(p: Platform): { os: string; architecture: string; variant: string } {
  return { os: p.os, architecture: p.architecture, variant: p.variant ?? '' };
}
