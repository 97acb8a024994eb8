/**
 * The `berth` program: loads the bundled CLI (`berth-main.cjs`, everything in one file) with a
 * V8 code cache, then runs it.
 *
 * Why: compiling the ~1.4 MB bundle (gRPC, the wire codecs, the client) is a fifth of a short
 * command's time. Node 22 caches compiled code itself (`module.enableCompileCache`); on Node 20
 * we do what it does: compile the bundle as a `vm.Script` with the cached data of an earlier run
 * and, when there was none (or V8 refused it: another Node, another bundle), write it after the
 * command finished, so it holds the functions that command compiled. One cache per command
 * (`run` and `version` compile different code), under `$XDG_CACHE_HOME/berth` (or
 * `~/.cache/berth`), named after the bundle's size and mtime. A cache that cannot be read or
 * written is ignored: the command runs the same, only slower. `BERTH_NO_COMPILE_CACHE=1` turns
 * it off.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { cacheRoot, readCacheFile, writeCacheFile } from './cache-files';

interface Main {
  berthMain(argv: string[]): Promise<number>;
}

const bundle = join(__dirname, 'berth-main.cjs');

// A reader that went away (`berth logs web | head`) ends the command quietly, as SIGPIPE ends a
// Unix tool (status 141), instead of an unhandled EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}
const argv = process.argv.slice(2);

function cachePath(command: string): string | undefined {
  if (process.env.BERTH_NO_COMPILE_CACHE) return undefined;
  try {
    const { size, mtimeMs } = statSync(bundle);
    const dir = join(cacheRoot(), `v8-${process.version}`);
    return join(dir, `${command.replace(/[^a-z_-]/gi, '_')}-${size}-${Math.floor(mtimeMs)}.cache`);
  } catch {
    return undefined;
  }
}

function load(command: string): { main: Main; save: () => void } {
  const source = readFileSync(bundle, 'utf8');
  const path = cachePath(command);
  const cachedData = path ? readCacheFile(path) : undefined;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as Main };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  const fresh = !cachedData || script.cachedDataRejected === true;
  return { main: module.exports, save: () => (path && fresh ? writeCacheFile(path, script.createCachedData()) : undefined) };
}

async function run(): Promise<never> {
  const { main, save } = load(argv.find((a, i) => !a.startsWith('-') && !/^(-H|--address|--host|-n|--namespace)$/.test(argv[i - 1] ?? '')) ?? 'help');
  const code = await main.berthMain(argv);
  save();
  // Output still queued for a pipe whose reader is slower than us (`berth logs web | less`) goes
  // out before the exit; a write with a callback is called back once everything before it is out.
  await Promise.all([process.stdout, process.stderr].map((s) => (s.writableLength > 0 ? new Promise((r) => s.write('', r)) : undefined)));
  // Exits explicitly: a call still pending on a closed channel (a Wait for a process that never
  // started) must not keep the command alive.
  process.exit(code);
}

void run();
