import { invalidArgument } from '@berth/errdefs';
import { isIdentifier } from '@berth/spec';

/**
 * Checks a topic as containerd's exchange does: not empty, starting with `/`, and made of at
 * least one `/`-separated component, each an identifier (letters and digits separated by
 * single `.`, `_` or `-`): `/tasks/exit` passes, `tasks/exit`, `/`, `//x` and `/a b` do not.
 * InvalidArgument otherwise, naming the topic.
 */
export function validateTopic(topic: string): void {
  if (topic === '') throw invalidArgument('event topic must not be empty');
  if (!topic.startsWith('/')) throw invalidArgument(`event topic ${JSON.stringify(topic)}: must start with '/'`);
  if (topic.length === 1) throw invalidArgument(`event topic ${JSON.stringify(topic)}: must have at least one component`);
  for (const component of topic.slice(1).split('/')) {
    if (!isIdentifier(component)) {
      throw invalidArgument(`event topic ${JSON.stringify(topic)}: component ${JSON.stringify(component)} is not an identifier`);
    }
  }
}
