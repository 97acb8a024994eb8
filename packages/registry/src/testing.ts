/**
 * Test helpers for code that talks to registries, exported as `@berth/registry/testing` (for
 * the tests of this and other workspace packages; not part of the public index): Debian's
 * reference registry on a free port (`startRegistry`), a CA and certificates (`makePki`), a
 * Bearer token server (`startTokenServer`) and a TCP proxy that can cut connections.
 */
export { freePort, startRegistry } from './test-support/registry-server';
export type { RegistryOptions, TestRegistry } from './test-support/registry-server';
export { makePki, makeSigningKey } from './test-support/pki';
export type { TestPki } from './test-support/pki';
export { startTokenServer } from './test-support/token-server';
export type { TokenServer, TokenServerOptions } from './test-support/token-server';
export { startTcpProxy } from './test-support/tcp-proxy';
export type { ProxyHooks, TcpProxy } from './test-support/tcp-proxy';
