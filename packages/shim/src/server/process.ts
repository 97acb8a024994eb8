import type { Process } from '@berth/spec';
import type { ExitRecord } from './exit-file';
import type { ProcessIO } from './stdio';

/** Where a process is in its life (the shim's view; the runtime's state agrees). */
export type ProcessStatus = 'created' | 'running' | 'paused' | 'stopped';

/** How long Wait waits for a terminal's output copy to finish after the process exited. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * One supervised process: a container's init (`execId` '') or an exec process. Its exit is
 * recorded exactly once (`markExited`); `exited` resolves after that and after its output has
 * been delivered, so a waiter that reads the FIFOs next has everything.
 */
export class ShimProcess {
  pid = 0;
  status: ProcessStatus = 'created';
  exit: ExitRecord | undefined;
  readonly exited: Promise<ExitRecord>;
  private resolveExited!: (r: ExitRecord) => void;

  constructor(
    readonly containerId: string,
    readonly execId: string,
    readonly io: ProcessIO,
    /** The OCI process of an exec (undefined for init, whose process is in config.json). */
    readonly spec?: Process,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get isInit(): boolean {
    return this.execId === '';
  }

  /** Records the exit (first call wins), then resolves `exited` once output is drained. */
  markExited(record: ExitRecord): void {
    if (this.exit) return;
    this.exit = record;
    this.status = 'stopped';
    void this.io.drained(DRAIN_TIMEOUT_MS).then(() => this.resolveExited(record));
  }

  /** Moves to `running` unless it already stopped (a fast process can exit before start returns). */
  markRunning(): void {
    if (this.status !== 'stopped') this.status = 'running';
  }
}
