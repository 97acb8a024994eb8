import { events, type MessageInit, type protobuf } from '@berth/api';
import type { EventPublisher } from '../events';

/** containerd's task topics (runtime/v2's `runtime.Task*EventTopic`). */
export const TASK_TOPICS = {
  create: '/tasks/create',
  start: '/tasks/start',
  exit: '/tasks/exit',
  delete: '/tasks/delete',
  execAdded: '/tasks/exec-added',
  execStarted: '/tasks/exec-started',
  paused: '/tasks/paused',
  resumed: '/tasks/resumed',
} as const;

/** How a process ended, as the shim reports it (Wait, Delete) or `cleanupTask` does. */
export interface ProcessExit {
  pid: number;
  exitStatus: number;
  exitedAt?: protobuf.Timestamp | undefined;
}

/**
 * The task events berthd publishes, with the fields containerd's runc shim sets (containerd's
 * shims publish these themselves; berth-shim does not, so berthd publishes them around its shim
 * calls and from its exit watchers). Publishing never throws and never waits (`EventPublisher`).
 *
 * - `/tasks/exit` names the process by `id`: the container id for the init, else the exec id.
 * - `/tasks/delete` is for the init only (as containerd's runc shim: DeleteProcess publishes
 *   nothing); its `id` is the container id.
 */
export class TaskEvents {
  constructor(private readonly publisher: EventPublisher) {}

  created(ns: string, e: MessageInit<events.TaskCreate>): void {
    this.publisher.publish(ns, TASK_TOPICS.create, events.TaskCreate, e);
  }

  started(ns: string, containerId: string, pid: number): void {
    this.publisher.publish(ns, TASK_TOPICS.start, events.TaskStart, { containerId, pid });
  }

  /** The exit of the init (`execId` empty) or of an exec. */
  exited(ns: string, containerId: string, execId: string, exit: ProcessExit): void {
    this.publisher.publish(ns, TASK_TOPICS.exit, events.TaskExit, {
      containerId,
      id: execId || containerId,
      pid: exit.pid,
      exitStatus: exit.exitStatus,
      ...(exit.exitedAt ? { exitedAt: exit.exitedAt } : {}),
    });
  }

  deleted(ns: string, containerId: string, exit: ProcessExit): void {
    this.publisher.publish(ns, TASK_TOPICS.delete, events.TaskDelete, {
      containerId,
      id: containerId,
      pid: exit.pid,
      exitStatus: exit.exitStatus,
      ...(exit.exitedAt ? { exitedAt: exit.exitedAt } : {}),
    });
  }

  execAdded(ns: string, containerId: string, execId: string): void {
    this.publisher.publish(ns, TASK_TOPICS.execAdded, events.TaskExecAdded, { containerId, execId });
  }

  execStarted(ns: string, containerId: string, execId: string, pid: number): void {
    this.publisher.publish(ns, TASK_TOPICS.execStarted, events.TaskExecStarted, { containerId, execId, pid });
  }

  paused(ns: string, containerId: string): void {
    this.publisher.publish(ns, TASK_TOPICS.paused, events.TaskPaused, { containerId });
  }

  resumed(ns: string, containerId: string): void {
    this.publisher.publish(ns, TASK_TOPICS.resumed, events.TaskResumed, { containerId });
  }
}
