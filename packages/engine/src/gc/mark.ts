import type { GcNode, GcSource, NamespaceGcRoots } from '@berth/metadata';

/** A node's identity in a marked set (`nodeId(n)` is equal for equal nodes). */
export function nodeId(node: GcNode): string {
  switch (node.type) {
    case 'content':
      return `content\0${node.namespace}\0${node.digest}`;
    case 'snapshot':
      return `snapshot\0${node.namespace}\0${node.snapshotter}\0${node.key}`;
    case 'ingest':
      return `ingest\0${node.namespace}\0${node.ref}`;
  }
}

/**
 * The parent of a namespace's snapshot, as its snapshotter reports it (the client's key, in the
 * same namespace), or undefined for a base snapshot or one the backend does not have.
 */
export type ParentOf = (node: Extract<GcNode, { type: 'snapshot' }>) => string | undefined;

/**
 * The mark phase: every node reachable from `roots`, as `nodeId`s. Edges are the metadata's
 * `references` (the `containerd.io/gc.ref.*` labels on content and snapshot records) plus each
 * snapshot's parent. A flat root (`containerd.io/gc.flat` lease) marks its node without
 * following its label references; its snapshot's parents are marked all the same, because a
 * snapshotter cannot remove a parent under a live child. Ingest nodes are marked but have no
 * edges. Iterative, so a deep chain cannot overflow the stack.
 */
export function markReachable(source: GcSource, roots: readonly NamespaceGcRoots[], parentOf: ParentOf): Set<string> {
  const marked = new Set<string>();
  const followed = new Set<string>();
  const stack: { node: GcNode; follow: boolean }[] = [];
  for (const ns of roots) for (const r of ns.roots) stack.push({ node: r.node, follow: r.flat !== true });
  while (stack.length > 0) {
    const { node, follow } = stack.pop()!;
    const id = nodeId(node);
    if (follow ? followed.has(id) : marked.has(id)) continue;
    marked.add(id);
    if (node.type === 'snapshot') {
      const parent = parentOf(node);
      if (parent !== undefined) stack.push({ node: { ...node, key: parent }, follow });
    }
    if (!follow) continue;
    followed.add(id);
    for (const ref of source.references(node)) stack.push({ node: ref, follow: true });
  }
  return marked;
}
