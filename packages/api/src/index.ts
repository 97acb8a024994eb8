// The wire API berth speaks, generated from proto/ by tools/protogen (run `npm run generate`):
// one namespace per proto package. Each message is an interface plus a codec of the same name
// (`task.CreateTaskRequest.encode({...})`), each enum a const plus a type, each service a
// definition that @berth/ttrpc (and later the gRPC server) serves and calls.
export * from '../gen/index';
export type {
  MessageCodec,
  MessageInit,
  MethodDefinition,
  AnyMethodDefinition,
  ServiceDefinition,
  RequestOf,
  ResponseOf,
} from './runtime';
