import type { ContainerRecord, ProcessState } from '@berth/client';
import { ago, duration, nameOf, type Ctx } from './context';

/** One row of `berth ps` (Docker's field names, for `--format`). */
export interface ContainerRow {
  ID: string;
  FullID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  /** `created`, `running`, `paused` or `exited`. */
  State: string;
  Status: string;
  ExitCode: number | null;
  Pid: number;
  Names: string;
  Labels: Record<string, string>;
}

/** The namespace's containers with their task state (one Tasks.List call). */
export async function containerRows(ctx: Ctx): Promise<ContainerRow[]> {
  const [containers, tasks] = await Promise.all([ctx.containers.list(), ctx.tasks.list()]);
  const byId = new Map(tasks.map((t) => [t.containerId || t.id, t]));
  return containers.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map((c) => rowOf(c, byId.get(c.id)));
}

/** A container's row given its task (or none). */
export function rowOf(c: ContainerRecord, t: ProcessState | undefined): ContainerRow {
  const args = c.spec.process?.args ?? [];
  let state = 'created';
  let status = 'Created';
  let exit: number | null = null;
  if (t?.status === 'running') {
    state = 'running';
    status = `Up ${duration(Date.now() - c.createdAt.getTime())}`;
  } else if (t?.status === 'paused') {
    state = 'paused';
    status = 'Up (Paused)';
  } else if (t?.status === 'stopped') {
    state = 'exited';
    exit = t.exitStatus;
    status = `Exited (${t.exitStatus}) ${t.exitedAt.getTime() > 0 ? ago(t.exitedAt) : ''}`.trimEnd();
  }
  return {
    ID: c.id.slice(0, 12),
    FullID: c.id,
    Image: c.labels['berth/image'] ?? c.image,
    Command: JSON.stringify(args.join(' ')),
    CreatedAt: c.createdAt.toISOString(),
    RunningFor: ago(c.createdAt),
    State: state,
    Status: status,
    ExitCode: exit,
    Pid: t?.pid ?? 0,
    Names: nameOf(c),
    Labels: c.labels,
  };
}
