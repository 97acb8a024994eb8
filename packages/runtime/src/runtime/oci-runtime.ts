import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { failedPrecondition, invalidArgument } from '@berth/errdefs';
import type { LinuxResources, Process } from '@berth/spec';
import { processCgroupAttachPrimer } from './cgroup-attach-primer';
import { cgroupStats } from './cgroup-stats';
import { sealedExecutable } from './sealed-binary';
import { crunNeedsWrapper, wrapHidingUnified } from './crun-wrapper';
import { invoke, resolveBinary, runtimeError, type CommandBuilder, type InvokeResult } from './invoke';
import type { ContainerState, ContainerStats, CreateOptions, ExecOptions, OciRuntime, RunOptions, RuntimeFlavor, RuntimeOptions, Stdio } from './types';

/** The flavor a binary name implies: `crun` when its file name contains `crun`, else `runc`. */
export function flavorOf(binary: string): RuntimeFlavor {
  return basename(binary).includes('crun') ? 'crun' : 'runc';
}

/**
 * The crun subcommands that need the hybrid host's cgroup2 mount hidden: those that create a
 * container or a process and set up its cgroups. crun 1.8 refuses the hybrid layout only there;
 * start, state, kill, pause, resume, update, ps and delete work on it as they are (measured:
 * each skipped wrapper saves ~4 ms, two of them on every container's start-to-delete path).
 */
const WRAPPED_SUBCOMMANDS = new Set(['create', 'run', 'exec']);

/** The subcommands that move a new process into the container's cgroups. */
const ATTACHING_SUBCOMMANDS = WRAPPED_SUBCOMMANDS;

/**
 * A driver for the runc or crun command line (see `OciRuntime` for the contract). The binary is
 * resolved on first use (Unavailable when missing); `root` is created on first use. With crun
 * on a hybrid cgroup host the calls that set up a container's cgroups (`WRAPPED_SUBCOMMANDS`)
 * run through the wrapper of `crun-wrapper.ts`; the others run crun directly. The binary runs
 * from a sealed copy (`sealed-binary.ts`), and calls that attach a process to a cgroup start
 * the cgroup attach primer alongside (`cgroup-attach-primer.ts`).
 */
export function createRuntime(opts: RuntimeOptions): OciRuntime {
  const flavor = opts.flavor ?? flavorOf(opts.binary);
  const hide = opts.hideUnifiedCgroup ?? (flavor === 'crun' && crunNeedsWrapper());
  const primer = opts.cgroupAttachPrimer === undefined ? processCgroupAttachPrimer() : opts.cgroupAttachPrimer;
  let path: string | undefined;
  let rootReady: Promise<unknown> | undefined;
  let rootMade = false;

  const builder = (sub: string): CommandBuilder => {
    const named = (path ??= resolveBinary(opts.binary));
    const binary = opts.sealedCopy === false ? named : sealedExecutable(named);
    return hide && WRAPPED_SUBCOMMANDS.has(sub) ? (args) => wrapHidingUnified(binary, args, undefined, named) : (args) => ({ file: binary, args, argv0: named });
  };

  // One invocation; throws the runtime's error unless it exits 0 (or `acceptExit` says fine).
  const call = async (sub: string, id: string, args: string[], extra: { stdio?: Stdio; acceptExit?: boolean } = {}): Promise<InvokeResult> => {
    // Once the root exists, a call spawns the runtime before it first yields (a caller such as
    // the shim's exit handling relies on that to start `delete` before its own bookkeeping).
    if (!rootMade) {
      rootReady ??= mkdir(opts.root, { recursive: true, mode: 0o711 }).then(() => void (rootMade = true));
      await rootReady;
    }
    const build = builder(sub);
    if (ATTACHING_SUBCOMMANDS.has(sub)) void primer?.prime();
    const r = await invoke(build, ['--root', opts.root, sub, ...args], { stdio: extra.stdio, appendLog: opts.log });
    const what = `${flavor} ${sub}${id ? ` ${id}` : ''}`;
    if (r.code !== 0 && !(extra.acceptExit && r.error === undefined)) throw runtimeError(what, r.error ?? `exit status ${r.code}`);
    return r;
  };

  // A temp file for a JSON document the runtime reads (`--process`, `--resources`).
  const withJsonFile = async <T>(doc: unknown, fn: (path: string) => Promise<T>): Promise<T> => {
    const path = join(tmpdir(), `berth-runtime-${process.pid}-${randomBytes(6).toString('hex')}.json`);
    await writeFile(path, JSON.stringify(doc), { mode: 0o600 });
    try {
      return await fn(path);
    } finally {
      await rm(path, { force: true });
    }
  };

  const parseJson = <T>(what: string, text: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw failedPrecondition(`${flavor} ${what}: unparsable output ${JSON.stringify(text.slice(0, 200))}`, { cause: err });
    }
  };

  return {
    binary: opts.binary,
    flavor,
    root: opts.root,

    async create(id: string, bundle: string, o: CreateOptions = {}): Promise<void> {
      const args = ['--bundle', bundle];
      if (o.pidFile) args.push('--pid-file', o.pidFile);
      if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
      if (o.noNewKeyring) args.push('--no-new-keyring');
      await call('create', id, [...args, id], { stdio: o.stdio ?? ['ignore', 'ignore', 'ignore'] });
    },

    async start(id: string): Promise<void> {
      await call('start', id, [id]);
    },

    async state(id: string): Promise<ContainerState> {
      return parseJson<ContainerState>(`state ${id}`, (await call('state', id, [id])).stdout);
    },

    async list(): Promise<ContainerState[]> {
      const out = (await call('list', '', ['--format', 'json'])).stdout.trim();
      return (out === '' ? null : parseJson<ContainerState[] | null>('list', out)) ?? [];
    },

    async kill(id: string, signal: NodeJS.Signals | number, o: { all?: boolean } = {}): Promise<void> {
      const n = typeof signal === 'number' ? signal : osConstants.signals[signal];
      if (!Number.isInteger(n) || n <= 0) throw invalidArgument(`${flavor} kill ${id}: unknown signal ${String(signal)}`);
      await call('kill', id, [...(o.all ? ['--all'] : []), id, String(n)]);
    },

    async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
      await call('delete', id, [...(o.force ? ['--force'] : []), id]);
    },

    async exec(id: string, proc: Process, o: ExecOptions = {}): Promise<number> {
      return withJsonFile(proc, async (path) => {
        const args = ['--process', path];
        if (o.pidFile) args.push('--pid-file', o.pidFile);
        if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
        if (o.detach) args.push('--detach');
        const r = await call('exec', id, [...args, id], { stdio: o.stdio ?? ['ignore', 'ignore', 'ignore'], acceptExit: !o.detach });
        return r.code;
      });
    },

    async pause(id: string): Promise<void> {
      await call('pause', id, [id]);
    },

    async resume(id: string): Promise<void> {
      await call('resume', id, [id]);
    },

    async update(id: string, resources: LinuxResources): Promise<void> {
      await withJsonFile(resources, (path) => call('update', id, ['--resources', path, id]));
    },

    async ps(id: string): Promise<number[]> {
      return parseJson<number[] | null>(`ps ${id}`, (await call('ps', id, ['--format', 'json', id])).stdout) ?? [];
    },

    async stats(id: string): Promise<ContainerStats> {
      // crun has no `events` subcommand (as of 1.8); its stats come from the cgroup files directly.
      if (flavor === 'crun') {
        // crun has no `events`: read the container's cgroups directly.
        const { pid, status } = parseJson<ContainerState>(`state ${id}`, (await call('state', id, [id])).stdout);
        if (!pid || status === 'stopped') throw failedPrecondition(`crun stats ${id}: the container is ${status}`);
        return cgroupStats(pid);
      }
      const out = (await call('events', id, ['--stats', id])).stdout.trim();
      const event = parseJson<{ type?: string; data?: ContainerStats }>(`events --stats ${id}`, out.split('\n')[0] ?? '');
      return event.data ?? {};
    },

    async run(id: string, bundle: string, o: RunOptions = {}): Promise<number> {
      const args = ['--bundle', bundle];
      if (o.pidFile) args.push('--pid-file', o.pidFile);
      if (o.noNewKeyring) args.push('--no-new-keyring');
      const r = await call('run', id, [...args, id], { stdio: o.stdio ?? ['ignore', 'ignore', 'ignore'], acceptExit: true });
      return r.code;
    },
  };
}
