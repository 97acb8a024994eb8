import type { OciRuntime } from '@berth/runtime';
import type { ShimProcess } from './process';

/** A container the shim supervises: its bundle, its runtime, its init and exec processes. */
export class ShimContainer {
  readonly execs = new Map<string, ShimProcess>();
  /** Whether the shim mounted the rootfs (and so unmounts it on delete). */
  rootfsMounted = false;
  /**
   * The runtime's delete of this container, started as soon as its init exited (see
   * `TaskService`): by the time the client's Delete comes, it has usually finished.
   */
  runtimeDeleted: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly runtime: OciRuntime,
    readonly init: ShimProcess,
  ) {}

  /** The init (`execId` '') or an exec process; undefined when there is none by that id. */
  process(execId: string): ShimProcess | undefined {
    return execId === '' ? this.init : this.execs.get(execId);
  }
}
