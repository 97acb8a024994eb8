import * as grpc from '@grpc/grpc-js';
import { contentService, type MessageInit } from '@berth/api';
import { fromGrpcError } from '@berth/errdefs';

type Methods = (typeof contentService.Content)['methods'];
type Req<K extends keyof Methods> = Methods[K] extends { requestType: { decode(b: Uint8Array): infer R } } ? R : never;
type Res<K extends keyof Methods> = Methods[K] extends { responseType: { decode(b: Uint8Array): infer R } } ? R : never;

/**
 * One request/response exchange of a `Content.Write` stream: `send` resolves with the response
 * to that request (the protocol answers each request once) or rejects with the stream's error
 * as a BerthError (so tests assert kinds).
 */
export interface WriteSession {
  send(request: MessageInit<contentService.WriteContentRequest>): Promise<contentService.WriteContentResponse>;
  /** Half-closes and waits for the final status (rejects with its error, if any). */
  end(): Promise<void>;
  /** Cancels the stream, as a killed client would. */
  cancel(): void;
}

/** A test client of berthd's Content service (grpc-js, one namespace, optional lease). */
export interface ContentTestClient {
  info(digest: string): Promise<contentService.Info>;
  update(info: MessageInit<contentService.Info>, paths?: string[]): Promise<contentService.Info>;
  /** Every List response (each a batch of infos). */
  list(filters?: string[]): Promise<contentService.Info[][]>;
  delete(digest: string): Promise<void>;
  /** Every Read response. */
  read(digest: string, offset?: number, size?: number): Promise<contentService.ReadContentResponse[]>;
  status(ref: string): Promise<contentService.Status>;
  listStatuses(filters?: string[]): Promise<contentService.Status[]>;
  abort(ref: string): Promise<void>;
  write(): WriteSession;
  close(): void;
}

/**
 * Connects to berthd at `address` (a unix socket path), sending `containerd-namespace: ns`
 * and, when given, `containerd-lease: lease` on every call.
 */
export function contentTestClient(address: string, ns: string, lease?: string): ContentTestClient {
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 << 20,
    'grpc.max_send_message_length': 16 << 20,
  });
  const md = () => {
    const m = new grpc.Metadata();
    m.set('containerd-namespace', ns);
    if (lease) m.set('containerd-lease', lease);
    return m;
  };
  const m = contentService.Content.methods;
  const codec = <K extends keyof Methods>(k: K) => ({
    ser: (v: MessageInit<Req<K>>) => Buffer.from((m[k].requestType as { encode(v: unknown): Uint8Array }).encode(v)),
    de: (b: Buffer) => m[k].responseType.decode(b) as Res<K>,
  });
  const unary = <K extends keyof Methods>(k: K, req: MessageInit<Req<K>>) =>
    new Promise<Res<K>>((resolve, reject) => {
      const c = codec(k);
      client.makeUnaryRequest(m[k].path, c.ser, c.de, req, md(), (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res!)));
    });
  const stream = <K extends keyof Methods>(k: K, req: MessageInit<Req<K>>) =>
    new Promise<Res<K>[]>((resolve, reject) => {
      const c = codec(k);
      const out: Res<K>[] = [];
      const call = client.makeServerStreamRequest(m[k].path, c.ser, c.de, req, md());
      call.on('data', (r: Res<K>) => out.push(r));
      call.on('error', (err) => reject(fromGrpcError(err)));
      call.on('end', () => resolve(out));
    });

  return {
    info: async (digest) => (await unary('info', { digest })).info!,
    update: async (info, paths) => (await unary('update', { info, ...(paths ? { updateMask: { paths } } : {}) })).info!,
    list: async (filters = []) => (await stream('list', { filters })).map((r) => r.info),
    delete: async (digest) => void (await unary('delete', { digest })),
    read: (digest, offset = 0, size = 0) => stream('read', { digest, offset, size }),
    status: async (ref) => (await unary('status', { ref })).status!,
    listStatuses: async (filters = []) => (await unary('listStatuses', { filters })).statuses,
    abort: async (ref) => void (await unary('abort', { ref })),
    write: () => writeSession(client, md()),
    close: () => client.close(),
  };
}

function writeSession(client: grpc.Client, metadata: grpc.Metadata): WriteSession {
  const method = contentService.Content.methods.write;
  const call = client.makeBidiStreamRequest(
    method.path,
    (v: MessageInit<contentService.WriteContentRequest>) => Buffer.from(method.requestType.encode(v)),
    (b: Buffer) => method.responseType.decode(b),
    metadata,
  );
  const waiting: { resolve(r: contentService.WriteContentResponse): void; reject(e: unknown): void }[] = [];
  let failure: unknown;
  let ended = false;
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (r: contentService.WriteContentResponse) => waiting.shift()?.resolve(r));
    call.on('error', (err) => {
      failure = fromGrpcError(err);
      for (const w of waiting.splice(0)) w.reject(failure);
      reject(failure);
    });
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code !== grpc.status.OK) return; // 'error' reports it
      ended = true;
      for (const w of waiting.splice(0)) w.reject(new Error('write stream ended without a response'));
      resolve();
    });
    call.on('end', () => {});
  });
  done.catch(() => {}); // observed through send/end
  return {
    send(request) {
      if (failure !== undefined) return Promise.reject(failure);
      if (ended) return Promise.reject(new Error('write stream ended'));
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        call.write(request);
      });
    },
    end() {
      call.end();
      return done;
    },
    cancel() {
      call.cancel();
    },
  };
}
