import { describe, expect, it } from 'vitest';
import { bytesContent, prngContent } from './content';
import { sortEntries, tarStream } from './tar-writer';
import type { Content, LayerEntry } from './types';

const file = (path: string, content: Content = bytesContent(path)): LayerEntry => ({ path, type: 'file', mode: 0o644, content });

describe('sortEntries', () => {
  it('orders parents before children', () => {
    const sorted = sortEntries([file('a/b'), { path: 'a', type: 'directory', mode: 0o755 }, file('a-b')]);
    expect(sorted.map((e) => e.path)).toEqual(['a', 'a-b', 'a/b']);
  });

  it.each([
    ['a duplicate path', [file('x'), file('x')], /duplicate/],
    ['an unnormalised path', [file('./x')], /normalised/],
    ['a hard link before its target', [{ path: 'a', type: 'hardlink', mode: 0o644, linkname: 'b' }, file('b')], /hard link target/],
    ['an mtime tar-stream cannot encode', [{ ...file('x'), mtime: 2 ** 31 }], /mtime/],
    ['a directory with content', [{ path: 'd', type: 'directory', mode: 0o755, content: bytesContent('') }], /content/],
  ] as [string, LayerEntry[], RegExp][])('refuses %s', (_what, entries, error) => {
    expect(() => sortEntries(entries)).toThrow(error);
  });
});

describe('tarStream', () => {
  it('pulls file content only as fast as the consumer reads (slow consumer)', async () => {
    const size = 32 * 1024 * 1024;
    const inner = prngContent(1, size);
    let produced = 0;
    const counted: Content = {
      size,
      async *chunks() {
        for await (const chunk of inner.chunks()) {
          produced += chunk.byteLength;
          yield chunk;
        }
      },
    };
    const stream = tarStream([file('big', counted)]);
    // Breaking out of the loop destroys the stream with an AbortError; that is the point here.
    stream.on('error', () => {});
    let consumed = 0;
    for await (const chunk of stream) {
      consumed += (chunk as Buffer).byteLength;
      if (consumed >= 2 * 1024 * 1024) break;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(produced).toBeLessThan(8 * 1024 * 1024);
    stream.destroy();
  });
});
