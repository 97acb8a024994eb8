import type { Transform } from 'node:stream';

/**
 * Runs `source` through a Node transform (a zlib (de)compressor) and yields what comes out.
 * The transform is fed on the side with `write()` backpressure, so a slow consumer of the
 * output stops the reading of `source`. The transform is destroyed when the iteration ends,
 * also early (the consumer stopped) or with an error; errors of `source` surface here.
 */
export async function* through(source: AsyncIterable<Uint8Array>, transform: Transform): AsyncGenerator<Uint8Array> {
  const feed = (async () => {
    try {
      for await (const chunk of source) {
        if (!transform.write(chunk)) await onceAny(transform, 'drain', 'close');
        if (transform.destroyed) return;
      }
      transform.end();
    } catch (err) {
      transform.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of transform) yield chunk as Buffer;
  } finally {
    transform.destroy();
    await feed;
  }
}

function onceAny(emitter: NodeJS.EventEmitter, ...events: string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const e of events) emitter.off(e, done);
      resolve();
    };
    for (const e of events) emitter.on(e, done);
  });
}
