// Golden bytes of containerd v1 messages (assumes `npm run generate` ran). Each expected hex
// string is worked out by hand from containerd 1.6's field numbers (tag = number << 3 | wire
// type), so a renumbered field, a lost gap or a map written as a message fails here before
// ctr ever sees it.
import { describe, expect, it } from 'vitest';
import {
  contentService,
  diffService,
  events,
  eventsService,
  imagesService,
  introspectionService,
  leasesService,
  snapshotsService,
  tasksService,
  ttrpcEventsService,
  types,
} from './index';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): string => Buffer.from(s).toString('hex');

/** Go's zero time.Time as gogo's stdtime sends it: 0001-01-01T00:00:00Z. */
const ZERO_TIME_SECONDS = -62135596800;
/** That value as a 10-byte varint (two's complement, as int64 is on the wire). */
const ZERO_TIME_VARINT = '8092b8c398feffffff01';

describe('content.v1', () => {
  it('encodes a WriteContentRequest COMMIT with every field at its number', () => {
    const bytes = contentService.WriteContentRequest.encode({
      action: contentService.WriteAction.COMMIT,
      ref: 'r1',
      total: 5,
      expected: 'sha256:00',
      offset: 2,
      data: new TextEncoder().encode('abc'),
      labels: { k: 'v' },
    });
    expect(hex(bytes)).toBe(
      '0802' + // action = 2 (COMMIT)
        '1202' + ascii('r1') + // ref
        '1805' + // total
        '2209' + ascii('sha256:00') + // expected
        '2802' + // offset
        '3203' + ascii('abc') + // data
        '3a06' + '0a01' + ascii('k') + '1201' + ascii('v'), // labels entry {key 1, value 2}
    );
  });

  it('leaves STAT (the enum default) off the wire', () => {
    const bytes = contentService.WriteContentRequest.encode({ action: contentService.WriteAction.STAT, ref: 'r' });
    expect(hex(bytes)).toBe('1201' + ascii('r'));
    expect(contentService.WriteContentRequest.decode(bytes).action).toBe(contentService.WriteAction.STAT);
  });

  it('decodes a WriteContentResponse with Go zero timestamps as the zero-time number', () => {
    const zero = `0b08${ZERO_TIME_VARINT}`;
    const res = contentService.WriteContentResponse.decode(
      unhex(`0802 12${zero} 1a${zero} 2005 2805 3209${ascii('sha256:00')}`),
    );
    expect(res).toEqual({
      action: contentService.WriteAction.COMMIT,
      startedAt: { seconds: ZERO_TIME_SECONDS, nanos: 0 },
      updatedAt: { seconds: ZERO_TIME_SECONDS, nanos: 0 },
      offset: 5,
      total: 5,
      digest: 'sha256:00',
    });
  });

  it('reads a ReadContentRequest{digest, offset, size} from fields 1 to 3', () => {
    const req = contentService.ReadContentRequest.decode(unhex(`0a01${ascii('d')} 1080 08 1801`));
    expect(req).toEqual({ digest: 'd', offset: 1024, size: 1 });
  });
});

describe('tasks.v1', () => {
  it('puts CreateTaskRequest.runtime_path at 10 and skips the unused 2', () => {
    const bytes = tasksService.CreateTaskRequest.encode({
      containerId: 'c',
      rootfs: [{ type: 'bind' }],
      terminal: true,
      options: { typeUrl: 't' },
      runtimePath: '/x',
    });
    expect(hex(bytes)).toBe(
      '0a01' + ascii('c') + // container_id
        '1a06' + '0a04' + ascii('bind') + // rootfs[0] (field 3)
        '3801' + // terminal (field 7)
        '4a03' + '0a01' + ascii('t') + // options (field 9)
        '5202' + ascii('/x'), // runtime_path (field 10)
    );
  });

  it('decodes a WaitResponse whose exited_at is Go zero time', () => {
    const res = tasksService.WaitResponse.decode(unhex(`088901 120b08${ZERO_TIME_VARINT}`));
    expect(res.exitStatus).toBe(137);
    expect(res.exitedAt).toEqual({ seconds: ZERO_TIME_SECONDS, nanos: 0 });
    // And it encodes back to what Go sent.
    expect(hex(tasksService.WaitResponse.encode(res))).toBe(`088901120b08${ZERO_TIME_VARINT}`);
  });
});

describe('images.v1', () => {
  it('round-trips an Image with labels, a target Descriptor and both timestamps', () => {
    const init = {
      name: 'docker.io/library/busybox:latest',
      labels: { 'containerd.io/gc.root': 'x', a: '' },
      target: {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: `sha256:${'ab'.repeat(32)}`,
        size: 9_007_199_254_740_991,
        annotations: { 'org.opencontainers.image.ref.name': 'latest' },
      },
      createdAt: { seconds: 1_700_000_000, nanos: 1 },
      updatedAt: { seconds: ZERO_TIME_SECONDS },
    };
    const image = imagesService.Image.decode(imagesService.Image.encode(init));
    expect(image).toEqual({ ...init, updatedAt: { seconds: ZERO_TIME_SECONDS, nanos: 0 } });
  });

  it('puts created_at at 7 and updated_at at 8', () => {
    const bytes = imagesService.Image.encode({ name: 'a', createdAt: { seconds: 1 }, updatedAt: { nanos: 2 } });
    expect(hex(bytes)).toBe('0a01' + ascii('a') + '3a020801' + '42021002');
  });

  it('keeps the image events in the images package (their type_url)', () => {
    expect(imagesService.ImageCreate.typeName).toBe('containerd.services.images.v1.ImageCreate');
    const bytes = imagesService.ImageUpdate.encode({ name: 'n', labels: { a: 'b' } });
    expect(hex(bytes)).toBe('0a01' + ascii('n') + '1206' + '0a01' + ascii('a') + '1201' + ascii('b'));
  });
});

describe('snapshots.v1', () => {
  it('encodes PrepareSnapshotRequest{snapshotter, key, parent, labels}', () => {
    const bytes = snapshotsService.PrepareSnapshotRequest.encode({
      snapshotter: 'overlayfs',
      key: 'k',
      parent: 'p',
      labels: { a: 'b' },
    });
    expect(hex(bytes)).toBe(
      '0a09' + ascii('overlayfs') + '1201' + ascii('k') + '1a01' + ascii('p') + '2206' + '0a01' + ascii('a') + '1201' + ascii('b'),
    );
  });

  it('encodes CommitSnapshotRequest with name at 2 and key at 3', () => {
    const bytes = snapshotsService.CommitSnapshotRequest.encode({ snapshotter: 's', name: 'n', key: 'k' });
    expect(hex(bytes)).toBe('0a01' + ascii('s') + '1201' + ascii('n') + '1a01' + ascii('k'));
  });
});

describe('field-number gaps', () => {
  it('Descriptor: annotations at 5 (no 4)', () => {
    const bytes = types.Descriptor.encode({ mediaType: 'm', digest: 'd', size: 300, annotations: { a: 'b' } });
    expect(hex(bytes)).toBe('0a01' + ascii('m') + '1201' + ascii('d') + '18ac02' + '2a06' + '0a01' + ascii('a') + '1201' + ascii('b'));
  });

  it('DiffResponse: diff at 3', () => {
    expect(hex(diffService.DiffResponse.encode({ diff: { digest: 'd' } }))).toBe('1a03' + '1201' + ascii('d'));
  });

  it('leases CreateRequest: labels at 3 (no 2)', () => {
    const bytes = leasesService.CreateRequest.encode({ id: 'l', labels: { a: 'b' } });
    expect(hex(bytes)).toBe('0a01' + ascii('l') + '1a06' + '0a01' + ascii('a') + '1201' + ascii('b'));
  });
});

describe('events', () => {
  const exit = { containerId: 'c1', id: 'c1', pid: 42, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 5 } };

  it('round-trips an Envelope carrying a TaskExit as a bare-named Any', () => {
    const envelope = {
      timestamp: { seconds: 1_700_000_001, nanos: 0 },
      namespace: 'default',
      topic: '/tasks/exit',
      event: { typeUrl: events.TaskExit.typeName, value: events.TaskExit.encode(exit) },
    };
    const decoded = eventsService.Envelope.decode(eventsService.Envelope.encode(envelope));
    expect(decoded.namespace).toBe('default');
    expect(decoded.topic).toBe('/tasks/exit');
    expect(decoded.timestamp).toEqual({ seconds: 1_700_000_001, nanos: 0 });
    expect(decoded.event!.typeUrl).toBe('containerd.events.TaskExit');
    expect(events.TaskExit.decode(decoded.event!.value)).toEqual(exit);
  });

  it('encodes the shims\' ttrpc Envelope exactly as the gRPC one', () => {
    const envelope = { namespace: 'ns', topic: '/tasks/oom', event: { typeUrl: events.TaskOOM.typeName, value: events.TaskOOM.encode({ containerId: 'c' }) } };
    const grpc = eventsService.Envelope.encode(envelope);
    expect(hex(ttrpcEventsService.Envelope.encode(envelope))).toBe(hex(grpc));
    expect(ttrpcEventsService.ForwardRequest.decode(eventsService.ForwardRequest.encode({ envelope })).envelope!.topic).toBe('/tasks/oom');
  });

  it('puts TaskExit.exited_at at 5 and TaskDelete.id at 5', () => {
    expect(hex(events.TaskExit.encode({ containerId: 'c', exitedAt: { seconds: 1 } }))).toBe('0a01' + ascii('c') + '2a020801');
    expect(hex(events.TaskDelete.encode({ containerId: 'c', id: 'e' }))).toBe('0a01' + ascii('c') + '2a01' + ascii('e'));
  });

  it('nests TaskCreate.io at 4', () => {
    const bytes = events.TaskCreate.encode({ containerId: 'c', io: { stdout: 'o', terminal: true }, pid: 7 });
    expect(hex(bytes)).toBe('0a01' + ascii('c') + '2205' + '1201' + ascii('o') + '2001' + '3007');
  });
});

describe('introspection.v1', () => {
  it('round-trips a Plugin with platforms, exports and a google.rpc.Status init_err', () => {
    const init = {
      type: 'io.containerd.snapshotter.v1',
      id: 'overlayfs',
      requires: ['io.containerd.content.v1'],
      platforms: [{ os: 'linux', architecture: 'amd64', variant: '' }],
      exports: { root: '/var/lib/berth/snapshots' },
      capabilities: ['remap-ids'],
      initErr: { code: 9, message: 'not supported on this host', details: [] },
    };
    expect(introspectionService.Plugin.decode(introspectionService.Plugin.encode(init))).toEqual(init);
    expect(hex(introspectionService.Plugin.encode({ initErr: { code: 9 } }))).toBe('3a020809');
  });
});
