import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { ErrorKind } from '@berth/errdefs';
import { digestOf } from '@berth/spec';
import { describe, expect, it } from 'vitest';
import { readBlob } from '../helpers';
import { expectKind, walkDigests, withStore, type CaseContext, type StoreFactory, type SuiteOptions } from './context';

/**
 * The child: builds a store from `BERTH_CHILD_MODULE`, opens a writer on `ref` for the payload
 * file and reports JSON lines on stdout. Modes: `partial` writes up to `stopAt` and waits;
 * `endless` reports and keeps writing small chunks without committing; `resume` writes the rest
 * from the ingest's offset and commits.
 */
const childScript = `
import { readFileSync } from 'node:fs';
const { createStore } = await import(process.env.BERTH_CHILD_MODULE);
const [root, ref, mode, payloadPath, stopAtArg, expected] = process.argv.slice(2);
const data = readFileSync(payloadPath);
const stopAt = Number(stopAtArg);
const say = (msg) => process.stdout.write(JSON.stringify(msg) + '\\n');
try {
  const store = await createStore(root);
  const writer = await store.writer({ ref, total: data.length, expected });
  let { offset } = await writer.status();
  say({ event: 'opened', offset });
  const step = mode === 'endless' ? 512 : 65536;
  const end = mode === 'resume' ? data.length : stopAt;
  for (; offset < end; offset += step) {
    await writer.write(data.subarray(offset, Math.min(offset + step, end)));
    if (mode === 'endless' && offset === 0) say({ event: 'ready', offset: (await writer.status()).offset });
  }
  if (mode === 'resume') say({ event: 'committed', digest: await writer.commit() });
  else {
    say({ event: 'ready', offset: (await writer.status()).offset });
    setInterval(() => {}, 1 << 30);
  }
} catch (err) {
  say({ event: 'error', kind: err.kind, message: String(err.message) });
  process.exitCode = 1;
}
`;

interface Message {
  event: string;
  offset?: number;
  digest?: string;
  kind?: string;
}

interface CrashContext extends CaseContext {
  /** Starts a child process on the store's root with the child script's arguments. */
  start(args: string[]): Child;
}

interface Child {
  proc: ChildProcess;
  next(): Promise<Message>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Cross-process cases; they need a module that builds the store in a child process. */
export function crashCases(factory: StoreFactory, { childModule, statusReportsExpected = true }: SuiteOptions): void {
  const moduleUrl = childModule?.startsWith('file:') ? childModule : childModule && pathToFileURL(childModule).href;

  describe.skipIf(!moduleUrl)('cross-process ingest (needs childModule)', () => {
    const test = (name: string, body: (ctx: CrashContext) => Promise<void>) =>
      it(name, withStore(factory, async (ctx) => {
        const children: Child[] = [];
        const script = join(ctx.base, 'child.mjs');
        await writeFile(script, childScript);
        const start = (args: string[]) => {
          const child = startChild(script, moduleUrl!, [ctx.root, ...args]);
          children.push(child);
          return child;
        };
        try {
          await body({ ...ctx, start });
        } finally {
          for (const child of children) {
            if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
            await child.exited;
          }
        }
      }), 30_000);

    test('a writer killed mid-ingest leaves no blob and a NEW process resumes at its offset', async ({ store, base, start }) => {
      const payload = randomBytes(8 << 20);
      const expected = digestOf(payload);
      const payloadPath = join(base, 'payload.bin');
      await writeFile(payloadPath, payload);
      const stopAt = (3 << 20) + 12_345;

      const writer = start(['crash', 'partial', payloadPath, String(stopAt), expected]);
      expect(await writer.next()).toMatchObject({ event: 'opened', offset: 0 });
      expect(await writer.next()).toMatchObject({ event: 'ready', offset: stopAt });
      expect((await store.status('crash')).offset).toBe(stopAt);
      await expectKind(store.writer({ ref: 'crash' }), ErrorKind.Unavailable); // held by a live process
      writer.proc.kill('SIGKILL');
      expect((await writer.exited).signal).toBe('SIGKILL');

      await expectKind(store.info(expected), ErrorKind.NotFound);
      expect(await walkDigests(store)).toEqual([]);
      const statuses = await store.listStatuses();
      expect(statuses).toHaveLength(1);
      expect(statuses[0]).toMatchObject({ ref: 'crash', offset: stopAt, total: payload.length, ...(statusReportsExpected ? { expected } : {}) });

      const resumer = start(['crash', 'resume', payloadPath, '0', expected]);
      expect(await resumer.next()).toMatchObject({ event: 'opened', offset: stopAt });
      expect(await resumer.next()).toEqual({ event: 'committed', digest: expected });
      expect((await resumer.exited).code).toBe(0);

      expect((await store.info(expected)).size).toBe(payload.length);
      expect((await readBlob(store, { digest: expected })).equals(payload)).toBe(true);
      expect(await store.listStatuses()).toEqual([]);
    });

    test('a writer killed while writes are in flight resumes to the right content', async ({ store, base, start }) => {
      const payload = randomBytes(16 << 20);
      const expected = digestOf(payload);
      const payloadPath = join(base, 'payload.bin');
      await writeFile(payloadPath, payload);

      const writer = start(['busy', 'endless', payloadPath, String(payload.length - 1), expected]);
      expect((await writer.next()).event).toBe('opened');
      expect((await writer.next()).event).toBe('ready');
      await new Promise((r) => setTimeout(r, 10));
      writer.proc.kill('SIGKILL');
      await writer.exited;
      await expectKind(store.info(expected), ErrorKind.NotFound);
      const { offset } = await store.status('busy');
      expect(offset).toBeGreaterThan(0);

      const resumer = start(['busy', 'resume', payloadPath, '0', expected]);
      expect(await resumer.next()).toMatchObject({ event: 'opened', offset });
      expect(await resumer.next()).toEqual({ event: 'committed', digest: expected });
      expect((await readBlob(store, { digest: expected })).equals(payload)).toBe(true);
    });
  });
}

function startChild(script: string, moduleUrl: string, args: string[]): Child {
  const proc = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_CHILD_MODULE: moduleUrl },
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    exited,
    async next() {
      const { value, done } = await lines.next();
      if (done) {
        const { code, signal } = await exited;
        throw new Error(`child exited (${code ?? signal}) before reporting:\n${stderr}`);
      }
      const message = JSON.parse(value as string) as Message;
      if (message.event === 'error') throw new Error(`child failed: ${message.kind}: ${JSON.stringify(message)}\n${stderr}`);
      return message;
    },
  };
}
