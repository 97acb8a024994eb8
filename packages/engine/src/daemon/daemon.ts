import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { unavailable } from '@berth/errdefs';
import { lockRoot } from './root-lock';

/** berthd's settings; every path configurable, defaults as DESIGN.md has them. */
export interface BerthdOptions {
  /** Persistent state (content, snapshots, metadata.db). Default /var/lib/berth. */
  root?: string;
  /** Runtime state (sockets, shim bundles). Default /run/berth. */
  state?: string;
  /** The gRPC socket. Default <state>/berthd.sock (mode 0660). */
  address?: string;
  /** The OCI runtime for tasks: 'crun', 'runc' or a path. Default: detected. */
  runtime?: string;
}

/** containerd's clients send and accept messages up to 16 MiB. */
export const MAX_MESSAGE_BYTES = 16 << 20;

/** A running berthd: its address and how to stop it. */
export interface Berthd {
  readonly address: string;
  readonly root: string;
  readonly state: string;
  readonly server: grpc.Server;
  /** Stops serving (in-flight calls finish, streams are cut) and releases the root. Containers keep running. */
  stop(): Promise<void>;
}

export function resolveOptions(opts: BerthdOptions): Required<Omit<BerthdOptions, 'runtime'>> & Pick<BerthdOptions, 'runtime'> {
  const root = opts.root ?? '/var/lib/berth';
  const state = opts.state ?? '/run/berth';
  return { root, state, address: opts.address ?? `${state}/berthd.sock`, runtime: opts.runtime };
}

/**
 * Starts berthd's gRPC server: takes the root's lock (FailedPrecondition when another berthd
 * holds it), binds the unix socket (a stale socket nobody answers on is replaced; a live one is
 * Unavailable), registers what `register` adds, and sets the socket to 0660.
 */
export async function startServer(opts: BerthdOptions, register: (server: grpc.Server) => void | Promise<void>): Promise<Berthd> {
  const o = resolveOptions(opts);
  mkdirSync(o.root, { recursive: true, mode: 0o711 });
  mkdirSync(o.state, { recursive: true, mode: 0o711 });
  mkdirSync(dirname(o.address), { recursive: true, mode: 0o711 });
  const release = lockRoot(o.root);
  try {
    if (await answers(o.address)) throw unavailable(`${o.address}: another server is listening there`);
    rmSync(o.address, { force: true });
    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // channelz (grpc's introspection of calls) costs bookkeeping on every call; berthd has no channelz service.
      'grpc.enable_channelz': 0,
    });
    await register(server);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${o.address}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    chmodSync(o.address, 0o660);
    return {
      address: o.address,
      root: o.root,
      state: o.state,
      server,
      async stop() {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        rmSync(o.address, { force: true });
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
