// The containerd v1 service definitions (assumes `npm run generate` ran): each service's full
// name, its rpcs, their paths and which side streams. ctr 1.6 dials these exact paths, so a
// renamed method or a lost `stream` keyword is a wire break.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  containersService,
  contentService,
  diffService,
  eventsService,
  health,
  imagesService,
  introspectionService,
  leasesService,
  namespacesService,
  snapshotsService,
  task,
  tasksService,
  ttrpcEventsService,
  versionService,
  type AnyMethodDefinition,
  type MethodDefinition,
  type RequestOf,
  type ResponseOf,
  type ServiceDefinition,
} from './index';

type Kind = 'unary' | 'server' | 'client' | 'bidi';

const kindOf = (m: AnyMethodDefinition): Kind =>
  m.requestStream ? (m.responseStream ? 'bidi' : 'client') : m.responseStream ? 'server' : 'unary';

/** Every service, its proto full name, its rpc names in .proto order and the streaming ones. */
const services: [ServiceDefinition<Record<string, AnyMethodDefinition>>, string, string[], Record<string, Kind>][] = [
  [versionService.Version, 'containerd.services.version.v1.Version', ['Version'], {}],
  [introspectionService.Introspection, 'containerd.services.introspection.v1.Introspection', ['Plugins', 'Server'], {}],
  [namespacesService.Namespaces, 'containerd.services.namespaces.v1.Namespaces', ['Get', 'List', 'Create', 'Update', 'Delete'], {}],
  [
    containersService.Containers,
    'containerd.services.containers.v1.Containers',
    ['Get', 'List', 'ListStream', 'Create', 'Update', 'Delete'],
    { ListStream: 'server' },
  ],
  [imagesService.Images, 'containerd.services.images.v1.Images', ['Get', 'List', 'Create', 'Update', 'Delete'], {}],
  [
    contentService.Content,
    'containerd.services.content.v1.Content',
    ['Info', 'Update', 'List', 'Delete', 'Read', 'Status', 'ListStatuses', 'Write', 'Abort'],
    { List: 'server', Read: 'server', Write: 'bidi' },
  ],
  [
    snapshotsService.Snapshots,
    'containerd.services.snapshots.v1.Snapshots',
    ['Prepare', 'View', 'Mounts', 'Commit', 'Remove', 'Stat', 'Update', 'List', 'Usage', 'Cleanup'],
    { List: 'server' },
  ],
  [diffService.Diff, 'containerd.services.diff.v1.Diff', ['Apply', 'Diff'], {}],
  [
    leasesService.Leases,
    'containerd.services.leases.v1.Leases',
    ['Create', 'Delete', 'List', 'AddResource', 'DeleteResource', 'ListResources'],
    {},
  ],
  [
    tasksService.Tasks,
    'containerd.services.tasks.v1.Tasks',
    [
      'Create', 'Start', 'Delete', 'DeleteProcess', 'Get', 'List', 'Kill', 'Exec', 'ResizePty',
      'CloseIO', 'Pause', 'Resume', 'ListPids', 'Checkpoint', 'Update', 'Metrics', 'Wait',
    ],
    {},
  ],
  [eventsService.Events, 'containerd.services.events.v1.Events', ['Publish', 'Forward', 'Subscribe'], { Subscribe: 'server' }],
  [ttrpcEventsService.Events, 'containerd.services.events.ttrpc.v1.Events', ['Forward'], {}],
  [health.Health, 'grpc.health.v1.Health', ['Check', 'Watch'], { Watch: 'server' }],
];

const cases = services.map(([svc, fullName, rpcs, streaming]) => ({ svc, fullName, rpcs, streaming }));

describe.each(cases)('$fullName', ({ svc, fullName, rpcs, streaming }) => {
  it(`has ${rpcs.length} rpcs under lowerCamel keys`, () => {
    expect(svc.name).toBe(fullName);
    const lowerCamel = (n: string) => n.charAt(0).toLowerCase() + n.slice(1);
    expect(Object.keys(svc.methods)).toEqual(rpcs.map(lowerCamel));
    expect(Object.values(svc.methods).map((m) => m.name)).toEqual(rpcs);
  });

  it('derives every path from the service and rpc names', () => {
    for (const m of Object.values(svc.methods)) expect(m.path).toBe(`/${fullName}/${m.name}`);
  });

  it('streams exactly where the .proto says', () => {
    const kinds = Object.fromEntries(Object.values(svc.methods).map((m) => [m.name, kindOf(m)]));
    const expected = Object.fromEntries(rpcs.map((n) => [n, streaming[n] ?? 'unary']));
    expect(kinds).toEqual(expected);
  });
});

describe('method definitions', () => {
  it('spells out the paths ctr dials', () => {
    expect(contentService.Content.methods.write.path).toBe('/containerd.services.content.v1.Content/Write');
    expect(tasksService.Tasks.methods.wait.path).toBe('/containerd.services.tasks.v1.Tasks/Wait');
    expect(snapshotsService.Snapshots.methods.prepare.path).toBe('/containerd.services.snapshots.v1.Snapshots/Prepare');
    expect(eventsService.Events.methods.subscribe.path).toBe('/containerd.services.events.v1.Events/Subscribe');
    expect(health.Health.methods.watch.path).toBe('/grpc.health.v1.Health/Watch');
  });

  it('carries the codecs of one message on a streaming side', () => {
    const write = contentService.Content.methods.write;
    expect(write.requestType.typeName).toBe('containerd.services.content.v1.WriteContentRequest');
    expect(write.responseType.typeName).toBe('containerd.services.content.v1.WriteContentResponse');
    expect(eventsService.Events.methods.subscribe.responseType.typeName).toBe('containerd.services.events.v1.Envelope');
  });

  it('marks the shim task API unary, so @berth/ttrpc serves it as before', () => {
    for (const m of Object.values(task.Task.methods)) expect(kindOf(m)).toBe('unary');
  });

  it('types the stream flags as literals (checked by tsc)', () => {
    const { read, write, info } = contentService.Content.methods;
    expectTypeOf(info).toEqualTypeOf<MethodDefinition<contentService.InfoRequest, contentService.InfoResponse>>();
    expectTypeOf(read).toEqualTypeOf<
      MethodDefinition<contentService.ReadContentRequest, contentService.ReadContentResponse, false, true>
    >();
    expectTypeOf(write.requestStream).toEqualTypeOf<true>();
    expectTypeOf(tasksService.Tasks.methods.wait.responseStream).toEqualTypeOf<false>();
    expectTypeOf<RequestOf<typeof write>>().toEqualTypeOf<contentService.WriteContentRequest>();
    expectTypeOf<ResponseOf<typeof read>>().toEqualTypeOf<contentService.ReadContentResponse>();
    // A unary definition still matches the two-parameter form; a streaming one does not.
    expectTypeOf(tasksService.Tasks.methods.wait).toMatchTypeOf<MethodDefinition<unknown, unknown>>();
    expectTypeOf(read).not.toMatchTypeOf<MethodDefinition<unknown, unknown>>();
  });
});
