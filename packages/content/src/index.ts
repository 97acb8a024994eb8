export { createLocalStore, LocalContentStore } from './local-store';
export type { LocalStoreOptions } from './local-store';
export { writeBlob, readBlob, exists } from './helpers';
export { infoAdaptor, statusAdaptor } from './adaptors';
export { BufferReaderAt } from './reader';
export type { BlobSource, WriteBlobOptions } from './helpers';
export type {
  BlobRef,
  CommitOptions,
  ContentReadStream,
  ContentStore,
  Info,
  InfoProvider,
  IngestManager,
  Ingester,
  Manager,
  Provider,
  ReadStreamOptions,
  ReaderAt,
  Status,
  WalkFunc,
  Writer,
  WriterOptions,
} from './types';
