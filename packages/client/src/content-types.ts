// @berth/content's interfaces, from @berth/spec where they live, under the names the client
// has always exported them by: `ContentClient` implements the very `ContentStore` the engine's
// store does, so the content conformance suite runs through it.
export type {
  BlobRef as ContentBlobRef,
  CommitOptions as ContentCommitOptions,
  ContentReadStream,
  ContentStore,
  Info as ContentInfo,
  ReadStreamOptions as ContentReadStreamOptions,
  ReaderAt as ContentReaderAt,
  Status as ContentStatus,
  WalkFunc as ContentWalkFunc,
  Writer as ContentWriter,
  WriterOptions as ContentWriterOptions,
} from '@berth/spec/content';
