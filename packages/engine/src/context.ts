import { join } from 'node:path';
import { createLocalStore, type ContentStore } from '@berth/content';
import { openMetadataStore, type MetadataStore } from '@berth/metadata';
import type { Logger } from './daemon/log';

/**
 * What the services of one berthd share: its directories, the metadata store
 * (`<root>/metadata.db`), the content store (`<root>/content`), and its log. Services take the
 * parts they need; tests build one over a temp dir with `openEngineContext`.
 */
export interface EngineContext {
  readonly root: string;
  readonly state: string;
  readonly metadata: MetadataStore;
  readonly content: ContentStore;
  readonly log: Logger;
  close(): void;
}

export function openEngineContext(opts: { root: string; state: string; log: Logger }): EngineContext {
  const metadata = openMetadataStore({ path: join(opts.root, 'metadata.db') });
  const content = createLocalStore({ root: join(opts.root, 'content') });
  return {
    root: opts.root,
    state: opts.state,
    metadata,
    content,
    log: opts.log,
    close: () => metadata.close(),
  };
}
