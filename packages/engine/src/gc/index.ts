/**
 * berthd's garbage collector: `collectGarbage` (one mark-and-sweep with containerd's
 * semantics), `createGarbageCollector` (its scheduler, `EngineContext.gc`) and the `Gate`
 * that keeps collections and mutations apart. See ARCHITECTURE.md, "Garbage collection".
 */
export { collectGarbage } from './collector';
export type { CollectorStores, GcStats } from './collector';
export { Gate } from './gate';
export { markReachable, nodeId } from './mark';
export type { ParentOf } from './mark';
export { createGarbageCollector } from './scheduler';
export type { GarbageCollector, GcSchedulerOptions } from './scheduler';
