// Codec behaviour of the generated API (assumes `npm run generate` ran; turbo's test task
// depends on build, which depends on generate).
import { describe, expect, it } from 'vitest';
import { BerthError, ErrorKind, kindOf } from '@berth/errdefs';
import { protobuf, rpc, runcOptions, task, taskTypes, ttrpc, types } from './index';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('golden bytes', () => {
  it('encodes StateRequest{id, execId} as protoc would', () => {
    expect(hex(task.StateRequest.encode({ id: 'c1', execId: 'e' }))).toBe('0a0263311201' + '65');
  });

  it('leaves default-valued fields off the wire', () => {
    expect(task.StateRequest.encode({}).length).toBe(0);
    expect(task.StateRequest.encode({ id: '', execId: '' }).length).toBe(0);
  });

  it('puts a set message field on the wire even when it is empty', () => {
    expect(hex(ttrpc.Response.encode({ status: {} }))).toBe('0a00');
    expect(ttrpc.Response.decode(Uint8Array.of(0x0a, 0x00)).status).toEqual({ code: 0, message: '', details: [] });
  });

  it('returns plain Uint8Arrays', () => {
    expect(task.StateRequest.encode({ id: 'x' }).constructor).toBe(Uint8Array);
  });
});

describe('round trip', () => {
  it('keeps a CreateTaskRequest with rootfs mounts and an Any option', () => {
    const options = runcOptions.Options.encode({ binaryName: 'crun', root: '/run/berth/crun' });
    const init = {
      id: 'c1',
      bundle: '/run/bundles/c1',
      rootfs: [
        { type: 'overlay', source: 'overlay', options: ['lowerdir=/l', 'upperdir=/u', 'workdir=/w'] },
        { type: 'bind', source: '/src', target: 'mnt' },
      ],
      stdout: '/run/fifo/out',
      options: { typeUrl: 'containerd.runc.v1.Options', value: options },
    };
    const decoded = task.CreateTaskRequest.decode(task.CreateTaskRequest.encode(init));
    expect(decoded).toEqual({
      id: 'c1',
      bundle: '/run/bundles/c1',
      rootfs: [
        { type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/l', 'upperdir=/u', 'workdir=/w'] },
        { type: 'bind', source: '/src', target: 'mnt', options: [] },
      ],
      terminal: false,
      stdin: '',
      stdout: '/run/fifo/out',
      stderr: '',
      checkpoint: '',
      parentCheckpoint: '',
      options: { typeUrl: 'containerd.runc.v1.Options', value: options },
    });
    expect(decoded.options!.value.constructor).toBe(Uint8Array);
    const opts = runcOptions.Options.decode(decoded.options!.value);
    expect(opts.binaryName).toBe('crun');
    expect(opts.root).toBe('/run/berth/crun');
  });

  it('keeps maps, enums and timestamps', () => {
    const update = task.UpdateTaskRequest.decode(
      task.UpdateTaskRequest.encode({ id: 'c1', annotations: { a: '1', 'b.c': '' } }),
    );
    expect(update.annotations).toEqual({ a: '1', 'b.c': '' });
    expect(update.resources).toBeUndefined();

    const state = task.StateResponse.decode(
      task.StateResponse.encode({ status: taskTypes.Status.STOPPED, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 5 } }),
    );
    expect(state.status).toBe(taskTypes.Status.STOPPED);
    expect(state.exitStatus).toBe(137);
    expect(state.exitedAt).toEqual({ seconds: 1_700_000_000, nanos: 5 });
  });

  it('keeps an int64 as a number (ttrpc.Request.timeoutNano)', () => {
    const bytes = ttrpc.Request.encode({ service: 's', method: 'm', timeoutNano: 5e9 });
    // field 4, varint 5_000_000_000
    expect(hex(bytes)).toBe('0a017312016d' + '20' + '80e497d012');
    const req = ttrpc.Request.decode(bytes);
    expect(req.timeoutNano).toBe(5e9);
    expect(typeof req.timeoutNano).toBe('number');
    const ts = protobuf.Timestamp.decode(protobuf.Timestamp.encode({ seconds: 2 ** 40 + 1 }));
    expect(ts.seconds).toBe(2 ** 40 + 1);
  });
});

describe('defaults', () => {
  it('decodes empty bytes to every field at its default', () => {
    expect(task.CreateTaskRequest.decode(new Uint8Array(0))).toEqual({
      id: '',
      bundle: '',
      rootfs: [],
      terminal: false,
      stdin: '',
      stdout: '',
      stderr: '',
      checkpoint: '',
      parentCheckpoint: '',
      options: undefined,
    });
    const state = task.StateResponse.decode(new Uint8Array(0));
    expect(state.pid).toBe(0);
    expect(state.status).toBe(taskTypes.Status.UNKNOWN);
    expect(state.exitedAt).toBeUndefined();
    expect('exitedAt' in state).toBe(true);
    expect(task.UpdateTaskRequest.decode(new Uint8Array(0)).annotations).toEqual({});
    const any = protobuf.Any.decode(new Uint8Array(0));
    expect(any.typeUrl).toBe('');
    expect(any.value).toEqual(new Uint8Array(0));
    expect(any.value.constructor).toBe(Uint8Array);
    expect(protobuf.Empty.decode(new Uint8Array(0))).toEqual({});
  });

  it('create fills defaults like decode does', () => {
    expect(types.Mount.create({ type: 'bind' })).toEqual({ type: 'bind', source: '', target: '', options: [] });
    expect(rpc.Status.create()).toEqual({ code: 0, message: '', details: [] });
    expect(ttrpc.Response.create({ payload: Uint8Array.of(1) }).status).toBeUndefined();
  });
});

describe('errors', () => {
  it.each([
    ['a truncated length-delimited field', Uint8Array.of(0x0a, 0x05, 0x61)],
    ['an invalid wire type', Uint8Array.of(0x0f)],
    ['a truncated varint', Uint8Array.of(0x18, 0xff)],
  ])('rejects %s with InvalidArgument', (_what, bytes) => {
    let error: unknown;
    try {
      task.CreateTaskRequest.decode(bytes);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BerthError);
    expect(kindOf(error)).toBe(ErrorKind.InvalidArgument);
  });

  it('rejects an init of the wrong shape with InvalidArgument', () => {
    expect(() => task.CreateTaskRequest.encode({ rootfs: 'nope' as never })).toThrow(
      expect.objectContaining({ kind: ErrorKind.InvalidArgument }),
    );
  });
});

describe('services', () => {
  it('lists the 17 rpcs of containerd.task.v2.Task with their paths', () => {
    expect(task.Task.name).toBe('containerd.task.v2.Task');
    const methods = Object.entries(task.Task.methods);
    expect(methods).toHaveLength(17);
    expect(methods.map(([key, m]) => [key, m.name, m.path])).toEqual(
      [
        'State', 'Create', 'Start', 'Delete', 'Pids', 'Pause', 'Resume', 'Checkpoint', 'Kill', 'Exec',
        'ResizePty', 'CloseIO', 'Update', 'Wait', 'Stats', 'Connect', 'Shutdown',
      ].map((name) => [name.charAt(0).toLowerCase() + name.slice(1), name, `/containerd.task.v2.Task/${name}`]),
    );
  });

  it('points each rpc at its message codecs', () => {
    expect(task.Task.methods.create.requestType).toBe(task.CreateTaskRequest);
    expect(task.Task.methods.create.responseType).toBe(task.CreateTaskResponse);
    expect(task.Task.methods.kill.responseType).toBe(protobuf.Empty);
    expect(task.Task.methods.wait.responseType.typeName).toBe('containerd.task.v2.WaitResponse');
  });
});
