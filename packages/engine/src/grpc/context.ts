import type { Metadata } from '@grpc/grpc-js';
import { failedPrecondition } from '@berth/errdefs';
import { validateIdentifier } from '@berth/spec';

/** The gRPC metadata keys containerd's clients send. */
export const NAMESPACE_HEADER = 'containerd-namespace';
export const LEASE_HEADER = 'containerd-lease';

/** What a handler learns about its call besides the request. */
export interface CallContext {
  /**
   * The namespace of the call (`containerd-namespace`). FailedPrecondition when the header is
   * missing or empty ("namespace is required", as containerd says), InvalidArgument when it is
   * not a valid identifier.
   */
  namespace(): string;
  /** The lease the call runs under (`containerd-lease`), if any. */
  readonly lease: string | undefined;
  readonly metadata: Metadata;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
}

/**
 * The context of one call. `signal` may be given lazily: most handlers never look at it, and an
 * AbortController per call is measurable at berthd's call rates.
 */
export function callContext(metadata: Metadata, signal: AbortSignal | (() => AbortSignal)): CallContext {
  const first = (key: string): string | undefined => {
    const v = metadata.get(key)[0];
    return v === undefined ? undefined : String(v);
  };
  const lease = first(LEASE_HEADER) || undefined;
  return {
    namespace() {
      const ns = first(NAMESPACE_HEADER);
      if (!ns) throw failedPrecondition('namespace is required');
      validateIdentifier(ns);
      return ns;
    },
    lease,
    metadata,
    get signal() {
      return typeof signal === 'function' ? signal() : signal;
    },
  };
}
