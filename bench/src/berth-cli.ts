import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startBothEngines } from './berthd';
import type { Benchmark } from './harness';

const run = promisify(execFile);
/** The `berth` command as npm installs it (bin/berth), run as from a shell. */
const BERTH = join(dirname(createRequire(import.meta.url).resolve('@berth/cli/package.json')), 'bin', 'berth');
const berth = (...args: string[]) => run(BERTH, args);
/** This environment without NODE_EXTRA_CA_CERTS, which costs Node 20 ~50 ms at every start when it names a system bundle. */
const { NODE_EXTRA_CA_CERTS: extraCa, ...withoutExtraCa } = process.env;

/**
 * What a person types: `berth run --rm busybox true` against berthd vs `ctr run --rm busybox
 * true` against Debian's containerd (each a fresh process, as from a shell). Target ≤ 1.0.
 */
export const berthRunBenchmark: Benchmark = {
  name: 'berth-run',
  description: '`berth run --rm busybox true` (berthd) vs `ctr run --rm busybox true` (containerd)',
  // 30 rounds: a single run of either varies by ±30 % on this VM.
  iterations: 30,
  warmup: 2,
  async setup() {
    const engines = await startBothEngines('busybox');
    if ('skip' in engines) return engines;
    const { berthd, containerd } = engines;
    let seq = 0;
    return {
      subject: { name: 'berth run --rm', run: () => berth('--address', berthd.address, '--namespace', 'bench', 'run', '--rm', 'busybox', 'true') },
      baselines: [{ name: 'ctr run --rm (containerd)', run: () => containerd.ctr('run', '--rm', 'docker.io/library/busybox:latest', `b-${seq++}`, 'true') }],
      teardown: engines.stop,
    };
  },
};

/**
 * `berth version` against berthd (client and server versions) vs `ctr version` against
 * containerd, and a bare `node -e ""` (with and without the environment's NODE_EXTRA_CA_CERTS,
 * which bin/berth keeps from Node).
 */
export const berthVersionBenchmark: Benchmark = {
  name: 'berth-version',
  description: '`berth version` (berthd) vs `ctr version` (containerd) and `node -e ""` (the floor of any Node CLI)',
  iterations: 20,
  warmup: 2,
  async setup() {
    const engines = await startBothEngines();
    if ('skip' in engines) return engines;
    const { berthd, containerd } = engines;
    return {
      subject: { name: 'berth version', run: () => berth('--address', berthd.address, 'version') },
      baselines: [
        { name: 'ctr version (containerd)', run: () => containerd.ctr('version') },
        { name: 'node -e ""', run: () => run(process.execPath, ['-e', '']) },
        ...(extraCa === undefined ? [] : [{ name: 'node -e "" (no NODE_EXTRA_CA_CERTS)', run: () => run(process.execPath, ['-e', ''], { env: withoutExtraCa }) }]),
      ],
      teardown: engines.stop,
    };
  },
};
