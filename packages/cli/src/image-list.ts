import { ContentClient, familiarName, parseReference, resolveImage, type ImageRecord } from '@berth/client';

import type { Ctx } from './context';

/** One row of `berth images`. */
export interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  /** The config digest's first 12 hex digits, as Docker's IMAGE ID. */
  ID: string;
  FullID: string;
  Name: string;
  CreatedAt: string;
  Size: number;
}

/** The namespace's images with their config id and size (read from the content store). */
export async function imageRows(ctx: Ctx): Promise<ImageRow[]> {
  const content = new ContentClient(ctx.conn);
  const images = await ctx.images.list();
  return Promise.all(images.map((i) => row(content, i)));
}

async function row(content: ContentClient, i: ImageRecord): Promise<ImageRow> {
  let full = '';
  let size = 0;
  let created = i.createdAt.toISOString();
  try {
    const r = await resolveImage(content, i.target);
    full = r.configDescriptor.digest;
    size = r.size;
    if (r.config.created) created = r.config.created;
  } catch {
    // an image whose blobs are missing still lists, with no id
  }
  let repo = i.name;
  let tag = '<none>';
  try {
    const ref = parseReference(i.name);
    repo = familiarName(ref);
    tag = ref.tag ?? '<none>';
  } catch {
    // a name that is not a reference
  }
  return { Repository: repo, Tag: tag, Digest: i.target.digest, ID: full.replace(/^sha256:/, '').slice(0, 12), FullID: full, Name: i.name, CreatedAt: created, Size: size };
}
