import { invalidArgument } from '@berth/errdefs';

/** The longest identifier containerd accepts. */
export const maxIdentifierLength = 76;

const identifierGrammar = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/**
 * Validates a containerd identifier (namespace, container ID, lease ID, snapshot key prefix):
 * ASCII letters and digits, with single `.`, `_` or `-` between them, 1 to 76 characters.
 * Such identifiers are safe as a file-system path component. Throws InvalidArgument
 * naming the identifier otherwise.
 */
export function validateIdentifier(id: string): void {
  if (id === '') throw invalidArgument('identifier must not be empty');
  if (id.length > maxIdentifierLength) {
    throw invalidArgument(`identifier "${id}": longer than the maximum ${maxIdentifierLength} characters`);
  }
  if (!identifierGrammar.test(id)) {
    throw invalidArgument(`identifier "${id}": must be letters and digits separated by single ".", "_" or "-"`);
  }
}

/** True when `validateIdentifier` accepts `id`. */
export function isIdentifier(id: string): boolean {
  return id.length <= maxIdentifierLength && identifierGrammar.test(id);
}
