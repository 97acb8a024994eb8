import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cgroupMode, type CgroupMode } from './cgroup-mode';
import { crunNeedsWrapper } from './crun-wrapper';
import { resolveBinary } from './invoke';
import { createRuntime } from './oci-runtime';
import type { RuntimeFlavor } from './types';

const run = promisify(execFile);

/** What `detectRuntimes` found about one runtime. */
export interface DetectedRuntime {
  flavor: RuntimeFlavor;
  /** Absolute path, when found. */
  path?: string;
  /** First line of `--version`. */
  version?: string;
  /** Whether it answered `--version` and `list` on this host (through the wrapper when needed). */
  works: boolean;
  /** Whether it needs the cgroup2-hiding wrapper here (crun on a hybrid host). */
  hideUnifiedCgroup: boolean;
  /** Why it does not work. */
  reason?: string;
}

/** The result of `detectRuntimes`. */
export interface RuntimeDetection {
  cgroupMode: CgroupMode;
  runtimes: DetectedRuntime[];
  /** The first working runtime in preference order, if any. */
  default?: RuntimeFlavor;
}

/**
 * Reports which of runc and crun can be driven on this host: found on PATH, answering
 * `--version`, and running `list` against a scratch state dir the way `createRuntime` would call
 * it (crun through the cgroup2-hiding wrapper on a hybrid host, which proves `unshare` and the
 * umount work). Picks `default` as the first working one of `prefer` (default crun, then runc:
 * crun starts containers faster). Never throws; a broken runtime is reported with a reason.
 */
export async function detectRuntimes(prefer: RuntimeFlavor[] = ['crun', 'runc']): Promise<RuntimeDetection> {
  const runtimes = await Promise.all((['runc', 'crun'] as const).map(probe));
  const working = new Set(runtimes.filter((r) => r.works).map((r) => r.flavor));
  const choice = prefer.find((f) => working.has(f));
  return { cgroupMode: cgroupMode(), runtimes, ...(choice ? { default: choice } : {}) };
}

async function probe(flavor: RuntimeFlavor): Promise<DetectedRuntime> {
  const hideUnifiedCgroup = flavor === 'crun' && crunNeedsWrapper();
  const out: DetectedRuntime = { flavor, works: false, hideUnifiedCgroup };
  let scratch: string | undefined;
  try {
    out.path = resolveBinary(flavor);
    out.version = (await run(out.path, ['--version'], { timeout: 10_000 })).stdout.split('\n')[0]?.trim();
    scratch = await mkdtemp(join(tmpdir(), `berth-detect-${flavor}-`));
    await createRuntime({ binary: out.path, flavor, root: scratch, hideUnifiedCgroup, sealedCopy: false, cgroupAttachPrimer: null }).list();
    out.works = true;
  } catch (err) {
    out.reason = err instanceof Error ? err.message : String(err);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  return out;
}
