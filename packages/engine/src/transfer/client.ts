import { randomBytes } from 'node:crypto';
import { streamingService, transferService, transferTypes, type MessageInit } from '@berth/api';
import { defaultPlatform, type Platform } from '@berth/spec';
import { createGrpcClient, type CallOptions } from '../testing/grpc-client';
import { anyTypeName, toAny } from './any';

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
}

/** A Transfer request pulling `reference` into the image store (containerd 2's `ctr image pull` shape). */
export function pullRequest(reference: string, opts: PullRequestOptions = {}): MessageInit<transferService.TransferRequest> {
  const platforms = opts.platforms === 'all' ? [] : (opts.platforms ?? [defaultPlatform()]);
  const unpack = opts.unpack === false ? [] : (opts.unpack?.platforms ?? [defaultPlatform()]).map((platform) => ({ platform, snapshotter: opts.unpack ? (opts.unpack.snapshotter ?? '') : '' }));
  return {
    source: toAny('containerd.types.transfer.OCIRegistry', transferTypes.OCIRegistry, registry(reference, opts)),
    destination: toAny('containerd.types.transfer.ImageStore', transferTypes.ImageStore, { name: opts.name ?? reference, labels: opts.labels ?? {}, platforms: platforms.map(wirePlatform), unpacks: unpack.map((u) => ({ platform: wirePlatform(u.platform), snapshotter: u.snapshotter })) }),
  };
}

/** A Transfer request pushing the image record `name` to `reference`. */
export function pushRequest(name: string, reference: string, opts: Pick<PullRequestOptions, 'plainHttp' | 'headers'> = {}): MessageInit<transferService.TransferRequest> {
  return {
    source: toAny('containerd.types.transfer.ImageStore', transferTypes.ImageStore, { name }),
    destination: toAny('containerd.types.transfer.OCIRegistry', transferTypes.OCIRegistry, registry(reference, opts)),
  };
}

/** Options of `runTransfer`. */
export interface RunTransferOptions extends CallOptions {
  /** Receives each progress event; opens a progress stream when given. */
  onProgress?: (p: transferTypes.Progress) => void;
}

/**
 * Runs a Transfer on the berthd at `address`: with `onProgress`, first opens a Streaming stream
 * (StreamInit, then the server's ack) and names it as the progress stream, and resolves only
 * once every progress event has been delivered. Rejects with the transfer's BerthError.
 */
export async function runTransfer(address: string, request: MessageInit<transferService.TransferRequest>, opts: RunTransferOptions = {}): Promise<void> {
  const { onProgress, ...callOpts } = opts;
  const transfer = createGrpcClient(address, transferService.Transfer, callOpts);
  const streaming = onProgress ? createGrpcClient(address, streamingService.Streaming, callOpts) : undefined;
  try {
    let reading: Promise<void> = Promise.resolve();
    let stream: ReturnType<NonNullable<typeof streaming>['stream']> | undefined;
    const options: MessageInit<transferService.TransferOptions> = {};
    if (streaming && onProgress) {
      const id = `progress-${randomBytes(8).toString('hex')}`;
      stream = streaming.stream();
      await stream.send(toAny('containerd.services.streaming.v1.StreamInit', streamingService.StreamInit, { id }));
      await stream.recv(); // the server's ack: the stream is registered
      options.progressStream = id;
      const s = stream;
      reading = (async () => {
        for await (const any of s) {
          if (anyTypeName(any.typeUrl) === 'containerd.types.transfer.Progress') onProgress(transferTypes.Progress.decode(any.value));
        }
      })();
      reading.catch(() => {});
    }
    try {
      await transfer.transfer({ ...request, options: { ...request.options, ...options } });
    } catch (err) {
      stream?.cancel();
      throw err;
    }
    stream?.end();
    await reading.catch(() => {});
  } finally {
    transfer.close();
    streaming?.close();
  }
}

function registry(reference: string, opts: Pick<PullRequestOptions, 'plainHttp' | 'headers'>): MessageInit<transferTypes.OCIRegistry> {
  return { reference, resolver: { defaultScheme: opts.plainHttp ? 'http' : '', headers: opts.headers ?? {} } };
}

function wirePlatform(p: Platform): { os: string; architecture: string; variant: string } {
  return { os: p.os, architecture: p.architecture, variant: p.variant ?? '' };
}
