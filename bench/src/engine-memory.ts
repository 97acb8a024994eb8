import { dirname } from 'node:path';
import { startBothEngines } from './berthd';
import type { Benchmark, Contender } from './harness';
import { mib, pidsMatching, pssKiB, rssKiB } from './proc-memory';

const IMAGE = 'docker.io/library/busybox:latest';
const COUNT = 20;

interface Engine {
  pid: number;
  ctr(...args: string[]): Promise<string>;
}

/** Memory of one engine: the daemon, and the shims it started (KiB). */
interface Footprint {
  daemonRss: number;
  daemonPss: number;
  shims: number;
  shimsRss: number;
  shimsPss: number;
}

function footprint(engine: Engine, shimPids: () => number[]): Footprint {
  const shims = shimPids();
  return {
    daemonRss: rssKiB(engine.pid),
    daemonPss: pssKiB(engine.pid),
    shims: shims.length,
    shimsRss: shims.reduce((sum, pid) => sum + rssKiB(pid), 0),
    shimsPss: shims.reduce((sum, pid) => sum + pssKiB(pid), 0),
  };
}

const measured: Record<string, { idle?: Footprint; loaded?: Footprint }> = {};

/**
 * berthd and containerd side by side, driven by the same `ctr`: each daemon's RSS idle (after
 * start and importing busybox), then with 20 `sleep` containers started by `ctr run -d` and left
 * running (the timed part), and the RSS/PSS of the shims supervising them (berth: one shim per
 * namespace; containerd: one containerd-shim-runc-v2 per container).
 */
export const engineMemoryBenchmark: Benchmark = {
  name: 'engine-memory',
  description: `berthd vs containerd RSS, idle and with ${COUNT} running containers (timed: \`ctr run -d\` ×${COUNT})`,
  iterations: 3,
  warmup: 0,
  async setup() {
    const engines = await startBothEngines('busybox');
    if ('skip' in engines) return engines;
    const { berthd, containerd } = engines;
    // Let both settle after the import (deferred GC, lazy plugin work) before the idle figure.
    await new Promise((r) => setTimeout(r, 2000));
    const berthShims = () => pidsMatching(' serve ', `${dirname(berthd.address)}/state/s/`);
    const containerdShims = () => pidsMatching('containerd-shim-runc-v2', containerd.address);
    measured.berthd = { idle: footprint(berthd, berthShims) };
    measured.containerd = { idle: footprint(containerd, containerdShims) };

    let round = 0;
    const contender = (name: string, key: string, engine: Engine, shims: () => number[]): Contender => {
      let ids: string[] = [];
      return {
        name,
        async run() {
          const r = round++;
          ids = Array.from({ length: COUNT }, (_, i) => `mem-${r}-${i}`);
          for (const id of ids) await engine.ctr('run', '-d', '--null-io', IMAGE, id, 'sleep', '1000');
        },
        async after() {
          measured[key]!.loaded = footprint(engine, shims);
          for (const id of ids) await engine.ctr('tasks', 'kill', '-s', 'SIGKILL', id).catch(() => {});
          for (const id of ids) {
            for (let i = 0; i < 200; i++) {
              try {
                await engine.ctr('tasks', 'rm', id);
                break;
              } catch {
                await new Promise((res) => setTimeout(res, 20));
              }
            }
            await engine.ctr('containers', 'rm', id);
          }
          ids = [];
        },
      };
    };
    return {
      subject: contender('ctr → berthd', 'berthd', berthd, berthShims),
      baselines: [contender('ctr → containerd', 'containerd', containerd, containerdShims)],
      teardown: engines.stop,
    };
  },
  describe() {
    const b = measured.berthd;
    const c = measured.containerd;
    if (!b?.idle || !c?.idle || !b.loaded || !c.loaded) return [];
    const row = (label: string, f: (x: Footprint) => number, fb: Footprint, fc: Footprint) =>
      `${label.padEnd(34)} berthd ${mib(f(fb)).padStart(7)} MiB   containerd ${mib(f(fc)).padStart(7)} MiB   ratio ${(f(fb) / f(fc)).toFixed(2)}`;
    return [
      row('daemon RSS, idle', (x) => x.daemonRss, b.idle, c.idle),
      row(`daemon RSS, ${COUNT} running`, (x) => x.daemonRss, b.loaded, c.loaded),
      row(`daemon PSS, ${COUNT} running`, (x) => x.daemonPss, b.loaded, c.loaded),
      row(`shims RSS, ${COUNT} running (${b.loaded.shims} vs ${c.loaded.shims})`, (x) => x.shimsRss, b.loaded, c.loaded),
      row(`shims PSS, ${COUNT} running`, (x) => x.shimsPss, b.loaded, c.loaded),
      row(`daemon + shims PSS, ${COUNT} running`, (x) => x.daemonPss + x.shimsPss, b.loaded, c.loaded),
    ];
  },
};
