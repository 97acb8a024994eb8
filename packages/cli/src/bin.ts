/**
 * The `berth` program: loads the bundled CLI (`berth-main.cjs`, everything in one file) with a
 * V8 code cache, then runs it.
 *
 * Why: compiling the ~450 KB bundle (our gRPC, the wire codecs, the client) is a fifth of a short
 * command's time. Node 22 caches compiled code itself (`module.enableCompileCache`); on Node 20
 * we do what it does: compile the bundle as a `vm.Script` with the cached data of an earlier run
 * and, when there was none (or V8 refused it: another Node, another bundle), write it after the
 * command finished, so it holds the functions that command compiled. One cache per command
 * (`run` and `version` compile different code), under `$XDG_CACHE_HOME/berth` (or
 * `~/.cache/berth`), named after the bundle's place, size and mtime; writing one removes those of
 * earlier builds (see `pruneStaleCaches`). A cache that cannot be read or
 * written is ignored: the command runs the same, only slower. `BERTH_NO_COMPILE_CACHE=1` turns
 * it off.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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

interface CachePlace {
  path: string;
  /** The cache dir of this Node (`v8-<version>`). */
  dir: string;
  /** What the cache files of this installation's bundle start with after the command (`-<install>-`). */
  install: string;
  /** What those of this build of it end with. */
  build: string;
}

/** A short name for the directory the bundle is installed in (FNV-1a of its path). */
function installTag(path: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

function cachePlace(command: string): CachePlace | undefined {
  if (process.env.BERTH_NO_COMPILE_CACHE) return undefined;
  try {
    const { size, mtimeMs } = statSync(bundle);
    const dir = join(cacheRoot(), `v8-${process.version}`);
    const install = `-${installTag(bundle)}-`;
    const build = `${install}${size}-${Math.floor(mtimeMs)}.cache`;
    return { path: join(dir, `${command.replace(/[^a-z_-]/gi, '_')}${build}`), dir, install, build };
  } catch {
    return undefined;
  }
}

/** How long a cache file nobody rewrote is kept (another installation's, another Node's). */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * Removes the caches of this installation's earlier builds (an upgrade would otherwise leave
 * ~400 KB per command behind each time) and any cache file older than `STALE_MS`. Other
 * installations' current caches stay: two of them sharing a home must not evict each other.
 * Runs only after writing a new cache, once per command and build.
 */
function pruneStaleCaches(place: CachePlace): void {
  const root = dirname(place.dir);
  const now = Date.now();
  // This installation's caches: `<command><install><size>-<mtime>.cache`, the tag right before the build.
  const ours = new RegExp(`${place.install}\\d+-\\d+\\.cache$`);
  for (const dir of entries(root).filter((e) => e.startsWith('v8-')).map((e) => join(root, e))) {
    for (const name of entries(dir)) {
      if (!name.endsWith('.cache')) continue;
      const file = join(dir, name);
      try {
        const earlierBuild = dir === place.dir && ours.test(name) && !name.endsWith(place.build);
        if (earlierBuild || now - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
      } catch {
        // gone already, or not ours to remove: it only costs disk space
      }
    }
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function load(command: string): { main: Main; save: () => void } {
  const source = readFileSync(bundle, 'utf8');
  const place = cachePlace(command);
  const cachedData = place ? readCacheFile(place.path) : undefined;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as Main };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  const fresh = !cachedData || script.cachedDataRejected === true;
  const save = (): void => {
    if (!place || !fresh) return;
    writeCacheFile(place.path, script.createCachedData());
    pruneStaleCaches(place);
  };
  return { main: module.exports, save };
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
